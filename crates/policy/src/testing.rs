//! Policy unit tests, the engine of `gatehouse policy test DIR` (like `opa test`).
//!
//! Every `*.rego` file under the directory (recursively, hidden files and directories skipped)
//! is loaded into one engine together with every `data.json`; a `data.json` in `DIR/a/b/` is
//! visible as `data.a.b`. Every rule whose name starts with `test_` is a test: it passes when it
//! evaluates to `true`, fails when it is `false`, undefined or any other value, and errors when
//! evaluation fails. Each test runs on its own copy of the loaded engine, so `print` output is
//! collected per test.
//!
//! This module reads the directory; nothing else in the crate does I/O.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use regorus::{Engine, Value};

use crate::TestError;
use crate::error::rego_message;

/// The outcome of every test found.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    /// One entry per test, in file order then source order.
    pub results: Vec<TestResult>,
}

/// One test's outcome.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's package, without the `data.` prefix.
    pub package: String,
    /// The rule name (`test_…`).
    pub name: String,
    /// Pass, fail or error.
    pub outcome: Outcome,
    /// How long the evaluation took.
    pub duration: Duration,
    /// What the test printed with `print`.
    pub prints: Vec<String>,
}

/// How a test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Evaluation failed; the message points at the policy line.
    Error(String),
    /// The rule was `false`, undefined or not a boolean.
    Fail,
    /// The rule was `true`.
    Pass,
}

/// A loaded `.rego` file and the package `add_policy` reported for it.
struct Module {
    source_path: String,
    package: String,
    source: String,
}

/// Loads `dir` and runs its tests; `filter` keeps the tests whose `package.name` contains it.
pub fn run_dir(dir: &Path, filter: Option<&str>) -> Result<TestReport, TestError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();

    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.set_gather_prints(true);
    let mut modules = Vec::new();
    for path in &files {
        if path.extension().is_some_and(|e| e == "rego") {
            modules.push(load_module(&mut engine, path)?);
        } else {
            load_data(&mut engine, dir, path)?;
        }
    }

    let mut tests: Vec<(String, String)> = Vec::new();
    for module in &modules {
        for name in test_rule_names(&module.source) {
            let declared = engine
                .has_declared_rule_rooted_at(&module.source_path, name)
                .unwrap_or(false);
            let key = (module.package.clone(), name.to_owned());
            if declared && !tests.contains(&key) {
                tests.push(key);
            }
        }
    }
    if let Some(filter) = filter {
        tests.retain(|(package, name)| format!("{package}.{name}").contains(filter));
    }
    if !tests.is_empty() {
        prepare(&mut engine, dir)?;
    }

    let results = tests
        .into_iter()
        .map(|(package, name)| run_one(&engine, package, name))
        .collect();
    Ok(TestReport { results })
}

// === impl TestReport ===

impl TestReport {
    /// Whether at least one test ran and every test passed.
    pub fn passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }

    fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| pred(&r.outcome)).count()
    }
}

impl fmt::Display for TestReport {
    /// One line per test (`PASS: data.pkg.test_x (1.2ms)`), the prints of tests that did not
    /// pass indented under them, then the totals (`PASS: 3/4`, `FAIL: 1/4`, `ERROR: …`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.results.is_empty() {
            return writeln!(f, "no tests found");
        }
        for r in &self.results {
            let test = format!("data.{}.{}", r.package, r.name);
            match &r.outcome {
                Outcome::Pass => writeln!(f, "PASS: {test} ({:.1?})", r.duration)?,
                Outcome::Fail => writeln!(f, "FAIL: {test} ({:.1?})", r.duration)?,
                Outcome::Error(msg) => {
                    // The compiler's excerpt spans lines; keep it under the test's line.
                    writeln!(f, "ERROR: {test} : {}", msg.replace('\n', "\n  "))?;
                }
            }
            if r.outcome != Outcome::Pass {
                for line in &r.prints {
                    writeln!(f, "  {line}")?;
                }
            }
        }
        let total = self.results.len();
        writeln!(f, "{}", "-".repeat(40))?;
        let pass = self.count(|o| *o == Outcome::Pass);
        let fail = self.count(|o| *o == Outcome::Fail);
        let error = self.count(|o| matches!(o, Outcome::Error(_)));
        if pass > 0 {
            writeln!(f, "PASS: {pass}/{total}")?;
        }
        if fail > 0 {
            writeln!(f, "FAIL: {fail}/{total}")?;
        }
        if error > 0 {
            writeln!(f, "ERROR: {error}/{total}")?;
        }
        Ok(())
    }
}

/// Runs one test on a copy of the loaded engine.
#[expect(
    clippy::disallowed_methods,
    reason = "test durations are reported, not decided on"
)]
fn run_one(engine: &Engine, package: String, name: String) -> TestResult {
    let mut engine = engine.clone();
    let start = Instant::now();
    let result = engine.eval_rule(format!("data.{package}.{name}"));
    let duration = start.elapsed();
    let outcome = match result {
        Ok(Value::Bool(true)) => Outcome::Pass,
        Ok(_) => Outcome::Fail,
        Err(e) => Outcome::Error(rego_message(&e)),
    };
    TestResult {
        package,
        name,
        outcome,
        duration,
        prints: engine.take_prints().unwrap_or_default(),
    }
}

/// Analyses all modules together once, so that an error spanning modules (a conflict, an
/// unsafe variable) is reported as a load error rather than as every test erroring.
fn prepare(engine: &mut Engine, dir: &Path) -> Result<(), TestError> {
    engine
        .eval_query("true".to_owned(), false)
        .map(drop)
        .map_err(|e| TestError::Compile {
            path: dir.to_path_buf(),
            message: rego_message(&e),
        })
}

fn load_module(engine: &mut Engine, path: &Path) -> Result<Module, TestError> {
    let source = read(path)?;
    let source_path = path.display().to_string();
    let package = engine
        .add_policy(source_path.clone(), source.clone())
        .map_err(|e| TestError::Compile {
            path: path.to_path_buf(),
            message: rego_message(&e),
        })?;
    let package = package.strip_prefix("data.").unwrap_or(&package).to_owned();
    Ok(Module {
        source_path,
        package,
        source,
    })
}

/// Adds a `data.json`, nested under its directory's path relative to `root`.
fn load_data(engine: &mut Engine, root: &Path, path: &Path) -> Result<(), TestError> {
    let data_error = |message: String| TestError::Data {
        path: path.to_path_buf(),
        message,
    };
    let text = read(path)?;
    let mut value = Value::from_json_str(&text).map_err(|e| data_error(rego_message(&e)))?;
    let dir = path.parent().unwrap_or(root);
    let relative = dir.strip_prefix(root).unwrap_or(Path::new(""));
    let components: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for key in components.iter().rev() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(Value::from(key.as_str()), value);
        value = Value::from(map);
    }
    if !matches!(value, Value::Object(_)) {
        return Err(data_error(
            "a top-level data.json must hold an object".to_owned(),
        ));
    }
    engine
        .add_data(value)
        .map_err(|e| data_error(rego_message(&e)))
}

/// Every non-hidden `*.rego` and `data.json` file under `dir`.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TestError> {
    let io = |source| TestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if name.ends_with(".rego") || name == "data.json" {
            out.push(path);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, TestError> {
    std::fs::read_to_string(path).map_err(|source| TestError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Names of the `test_` rules whose heads start a line: `test_x if {`, `test_x {`,
/// `test_x := …` or `test_x = …`. Comment lines are skipped. Candidates are confirmed against
/// the parsed module by the caller, so a match inside a string or a body is harmless.
fn test_rule_names(source: &str) -> impl Iterator<Item = &str> {
    source.lines().filter_map(|line| {
        let line = line.trim_start();
        if !line.starts_with("test_") {
            return None;
        }
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let (name, rest) = line.split_at(end);
        let rest = rest.trim_start();
        let head = rest.starts_with('{')
            || rest.starts_with(":=")
            || (rest.starts_with('=') && !rest.starts_with("=="))
            || rest
                .strip_prefix("if")
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '{']));
        head.then_some(name)
    })
}

#[cfg(test)]
mod tests;
