//! The integration-test binary: one module per area.
mod fuzz_smoke;
mod model;
mod scenarios;
mod support;
