//! One compiled owner policy: parse, check and compile once, evaluate per request.

use regorus::{CompiledPolicy, Engine, Value};

use crate::convert;
use crate::error::rego_message;
use crate::verdict::Entry;
use crate::{CompileError, EvalError, Verdict};

/// The largest Rego module an owner can upload, in bytes.
pub const MAX_MODULE_BYTES: usize = 64 * 1024;

/// The largest `data` document an owner can upload, in bytes of compact JSON.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The source path the module is compiled under; compiler messages point at `policy.rego:L:C`.
const SOURCE_PATH: &str = "policy.rego";

/// A compiled policy, ready to evaluate from many threads at once (`Send + Sync`, no lock).
#[derive(Clone)]
pub struct Policy {
    package: String,
    entry: Entry,
    compiled: CompiledPolicy,
}

// === impl Policy ===

impl Policy {
    /// Parses and compiles one Rego module (v1 syntax) with an optional `data` document (a JSON
    /// object, visible to the policy under `data`).
    ///
    /// Errors carry the compiler's message with line and column, fit to show the owner whose
    /// upload is refused. Refused as well: a module over [`MAX_MODULE_BYTES`], data over
    /// [`MAX_DATA_BYTES`] or not an object, a package `gatehouse` or one starting `system`, and
    /// a package that defines neither `decision` nor `allow`. When both are defined,
    /// `decision` is the entry rule.
    pub fn compile(module: &str, data: Option<&serde_json::Value>) -> Result<Policy, CompileError> {
        if module.len() > MAX_MODULE_BYTES {
            return Err(CompileError::TooLarge {
                what: "module",
                limit: MAX_MODULE_BYTES,
            });
        }
        let data = data.map(checked_data).transpose()?;

        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(true);
        let package = engine
            .add_policy(SOURCE_PATH.to_owned(), module.to_owned())
            .map_err(|e| CompileError::Rego(rego_message(&e)))?;
        let package = package.strip_prefix("data.").unwrap_or(&package).to_owned();
        if package == "gatehouse" || package.starts_with("system") {
            return Err(CompileError::ReservedPackage(package));
        }
        let entry = entry_rule(&engine, &package)?;
        if let Some(data) = data {
            engine
                .add_data(data)
                .map_err(|e| CompileError::Data(rego_message(&e)))?;
        }
        let rule: regorus::Rc<str> = format!("data.{package}.{}", entry.rule()).into();
        let compiled = engine
            .compile_with_entrypoint(&rule)
            .map_err(|e| CompileError::Rego(rego_message(&e)))?;
        Ok(Policy {
            package,
            entry,
            compiled,
        })
    }

    /// The module's package without the `data.` prefix, e.g. `gatehouse.orders`.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// Evaluates the entry rule, `data.<package>.decision` if the module declares `decision`,
    /// else `data.<package>.allow`, against `input` (see [`crate::input`]).
    pub fn evaluate(&self, input: Value) -> Result<Verdict, EvalError> {
        let value = self
            .compiled
            .eval_with_input(input)
            .map_err(|e| EvalError::Runtime(rego_message(&e)))?;
        self.entry.verdict(&value)
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("package", &self.package)
            .field("entry", &self.entry.rule())
            .finish_non_exhaustive()
    }
}

/// The uploaded data document, size-checked and converted.
fn checked_data(data: &serde_json::Value) -> Result<Value, CompileError> {
    let serde_json::Value::Object(map) = data else {
        return Err(CompileError::Data("must be a JSON object".to_owned()));
    };
    if convert::serialized_len_exceeds(data, MAX_DATA_BYTES) {
        return Err(CompileError::TooLarge {
            what: "data",
            limit: MAX_DATA_BYTES,
        });
    }
    Ok(convert::json_object(map))
}

/// `decision` if the module declares it, else `allow`, else an error naming the package.
fn entry_rule(engine: &Engine, package: &str) -> Result<Entry, CompileError> {
    for entry in [Entry::Decision, Entry::Allow] {
        let declared = engine
            .has_declared_rule_rooted_at(SOURCE_PATH, entry.rule())
            .map_err(|e| CompileError::Rego(rego_message(&e)))?;
        if declared {
            return Ok(entry);
        }
    }
    Err(CompileError::NoEntryRule {
        package: package.to_owned(),
    })
}

#[cfg(test)]
mod tests;
