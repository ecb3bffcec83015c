//! The allocation optimizer (to be written).
