//! Gatehouse request policies: API owners upload a Rego module (plus an optional `data`
//! document); the gateway asks it, per request, whether to let the caller through.
//!
//! ```text
//!  upload ──► Policy::compile(module, data) ──► Policy            (once, admin service)
//!                                                 │
//!  request ──► input::Input ──► .to_value() ──► Policy::evaluate ──► Verdict
//!                                                                   allow, reason,
//!                                                                   status, headers
//! ```
//!
//! The entry rule is `decision` (an object `{allow, reason, status, headers}`) if the module
//! declares one, else `allow` (a boolean). Anything but a well-formed answer is an
//! [`EvalError`], and an undefined answer denies: the gateway fails closed. A policy may add
//! headers to the forwarded request but never credentials, framing or hop-by-hop headers, nor
//! the gateway's own `x-gatehouse-*` identity headers.
//!
//! [`testing`] runs a directory's `test_` rules like `opa test`.
//!
//! This crate evaluates and never does I/O, except [`testing::run_dir`], which reads the
//! directory it is given. It does not cache decisions and does not read the clock: the caller
//! passes the time in [`input::Input`]. Evaluation has no time limit of its own (regorus'
//! execution timer is process-wide, see `regorus::utils::limits`); the upload limits
//! [`MAX_MODULE_BYTES`] and [`MAX_DATA_BYTES`] bound what an owner can load.
#![forbid(unsafe_code)]

mod convert;
mod error;
pub mod input;
mod policy;
pub mod testing;
mod verdict;

pub use error::{CompileError, EvalError, TestError};
pub use policy::{MAX_DATA_BYTES, MAX_MODULE_BYTES, Policy};
pub use verdict::{MAX_DECISION_HEADERS, MAX_REASON_BYTES, Verdict};

/// Re-exported so callers build inputs and read values without naming a regorus version.
pub use regorus::Value;

#[doc(hidden)]
pub mod fuzzing {
    //! Entry points for `fuzz/` targets. Each must return normally on every input.

    use crate::verdict::Entry;

    /// Reads a JSON value as a `decision` and as an `allow` answer.
    pub fn verdict(data: &[u8]) {
        if let Ok(value) = regorus::Value::from_json_str(&String::from_utf8_lossy(data)) {
            let _ = Entry::Decision.verdict(&value);
            let _ = Entry::Allow.verdict(&value);
        }
    }

    /// Builds a request input with `data` as the raw query string.
    pub fn input_query(data: &[u8]) {
        let query = String::from_utf8_lossy(data);
        let input = crate::input::Input {
            request: Some(crate::input::RequestInput {
                method: "GET",
                path: "/",
                params: &[],
                query: Some(&query),
                headers: Vec::new(),
            }),
            principal: None,
            api: crate::input::ApiInput {
                name: "api",
                audience: "aud",
            },
            operation: "op",
            time_unix: None,
        };
        let _ = input.to_value();
    }

    /// Compiles `data` as an owner's module.
    pub fn compile(data: &[u8]) {
        let _ = crate::Policy::compile(&String::from_utf8_lossy(data), None);
    }
}
