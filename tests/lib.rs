//! Holder crate for the integration-test binary in `it/`.
