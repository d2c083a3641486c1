//! Errors of loading and validating a description: each names the file, the
//! item and the reason.

use std::fmt;

/// A description that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {kind}")]
pub struct NetError {
    /// The description file (or the name given to an in-memory description).
    pub file: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The file (or a file it refers to) cannot be read.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// The file's extension names no known format.
    #[error("unknown description format '{extension}' (expected .toml or .json)")]
    UnknownFormat { extension: String },
    /// The text is not valid TOML/JSON, or does not follow the schema.
    #[error("{0}")]
    Syntax(String),
    /// An item of the description breaks a rule.
    #[error("{item}: {reason}")]
    Invalid { item: Item, reason: String },
    /// A projection's learning rule is refused by the learning engine: the
    /// error names the rule, the offending term and the reason.
    #[error("{item}: learning: {error}")]
    Learning {
        item: Item,
        error: Box<neurite_learning::LearningError>,
    },
}

/// The part of a description an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The description as a whole.
    Network,
    /// A population, by name.
    Population(String),
    /// A projection, by position and endpoints.
    Projection {
        index: usize,
        from: String,
        to: String,
    },
    /// An `[[inputs]]` entry, by position and population.
    Input { index: usize, population: String },
    /// A `[[probes]]` entry, by position and population.
    Probe { index: usize, population: String },
    /// A `[[neuromodulators]]` entry, by position and name.
    Neuromodulator { index: usize, name: String },
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Network => write!(f, "network"),
            Item::Population(name) => write!(f, "population '{name}'"),
            Item::Projection { index, from, to } => {
                write!(f, "projection #{index} ('{from}' -> '{to}')")
            }
            Item::Input { index, population } => {
                write!(f, "input #{index} (population '{population}')")
            }
            Item::Probe { index, population } => {
                write!(f, "probe #{index} (population '{population}')")
            }
            Item::Neuromodulator { index, name } => {
                write!(f, "neuromodulator #{index} ('{name}')")
            }
        }
    }
}
