//! What can go wrong compiling, evaluating and testing policies.
//!
//! Messages are lower-case without a trailing period. They may quote the policy's own source
//! (the compiler points at the line it refuses) but never a value from the input document,
//! which can carry tokens and claims.

use std::path::PathBuf;

/// A policy upload that cannot be used. The message is shown to the API owner who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The `data` document is not a JSON object or does not convert.
    #[error("invalid data document: {0}")]
    Data(String),
    /// The module's package defines neither `decision` nor `allow`.
    #[error("package {package} defines no rule `decision` or `allow`")]
    NoEntryRule {
        /// The package, without the `data.` prefix.
        package: String,
    },
    /// The compiler refused the module; the text carries its file, line and column.
    #[error("{0}")]
    Rego(String),
    /// The package name is reserved (`gatehouse`, or starting `system`).
    #[error("package {0} is reserved")]
    ReservedPackage(String),
    /// The module or the data document is larger than allowed.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// `module` or `data`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
}

/// An evaluation that produced no usable verdict. The gateway denies the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The entry rule produced a value that is not a valid decision (wrong type, forbidden
    /// header, status out of range). Names the offending member, never its value.
    #[error("bad decision: {0}")]
    BadDecision(String),
    /// Evaluation failed (a builtin error, a conflict, division by zero); the text points at
    /// the policy line.
    #[error("policy evaluation failed: {0}")]
    Runtime(String),
}

/// A policy test directory that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// A `.rego` module does not parse or compile.
    #[error("{}: {message}", path.display())]
    Compile {
        /// The file (or, for errors found across modules, the directory).
        path: PathBuf,
        /// The compiler's message, with line and column.
        message: String,
    },
    /// A `data.json` file is not JSON or conflicts with other data or rules.
    #[error("{}: {message}", path.display())]
    Data {
        /// The `data.json` file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file or directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The text of a regorus error: its full chain (`{:#}`), without the blank line regorus puts
/// before a source excerpt.
pub(crate) fn rego_message(e: &impl std::fmt::Display) -> String {
    format!("{e:#}").trim().to_owned()
}
