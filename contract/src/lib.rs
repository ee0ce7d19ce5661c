//! The contract between the generator, the runner and the reports: every format two of
//! them share is defined here, once. The expanded case (`generated/cases.json`), the
//! run-time placeholder grammar, the vocabulary of `suites/FEATURES.toml`, the verdict
//! table, `results.json`, baselines, the dialects and the names of things.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod case;
pub mod clients;
pub mod dialect;
pub mod files;
pub mod names;
pub mod placeholder;
pub mod reference;
pub mod results;
pub mod verdict;
pub mod vocabulary;

pub use case::*;
pub use dialect::Dialect;
pub use verdict::{Severity, Verdict};
