//! The web app, embedded in the binary (`crates/node/web`): `GET /` serves its page and
//! `GET /ui/{file}` its scripts, styles and the vendored uPlot, so a node serves the app with no
//! build step and no CDN.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::api::ApiError;

/// The page's security policy: everything from this node; uPlot sets inline styles.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The files under `/ui/`: name, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../web/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../web/app.css")),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/vendor/uplot-1.6.32/uPlot.iife.min.js"),
    ),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../web/vendor/uplot-1.6.32/uPlot.min.css")),
];

/// `GET /`: the app's page.
pub(crate) async fn page() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (StatusCode::OK, headers, include_str!("../web/index.html")).into_response()
}

/// `GET /ui/{file}`: one of the app's files (404 for any other name).
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, ..)| *n == name) {
        Some((_, kind, bytes)) => {
            let headers = [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ];
            (StatusCode::OK, headers, *bytes).into_response()
        }
        None => ApiError::not_found(format!("no file {name:?} in the web app")).into_response(),
    }
}
