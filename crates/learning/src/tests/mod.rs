//! Unit tests: hand-derived traces and rule evaluations, the parser's
//! accepted and rejected strings, NumPy's streams, and properties.

mod engine;
mod hand;
mod named;
mod parse;
mod props;
mod rng;

use std::path::PathBuf;

/// A file of `tests/golden/learning/`, parsed.
pub(crate) fn golden(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/learning")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
