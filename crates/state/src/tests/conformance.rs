//! Conformance cases derived from the reference formulas (second reading of the spec).
