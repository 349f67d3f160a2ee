//! Stable-toolchain smoke check for the fuzz targets: feeds files through the same
//! `fuzzing` hooks that `fuzz_targets/*.rs` call, without libFuzzer or nightly.
//!
//! ```text
//! cargo run --example smoke                          # every file under seeds/<target>/
//! cargo run --example smoke -- jws_verify FILE|DIR…  # one target, given inputs (e.g. a crash artifact)
//! ```
//!
//! Exits 0 when every input returned normally; a panic in a hook aborts with its message.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The targets, in the same order as `Cargo.toml`, each with the hooks its fuzz target calls.
const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("token_form", |d| gatehouse_oauth::fuzzing::parse_form(d)),
    ("client_assertion", |d| {
        gatehouse_oauth::fuzzing::claimed_client_id(d);
        gatehouse_keys::fuzzing::verify_with_jwks(d);
    }),
    ("jws_verify", |d| gatehouse_keys::fuzzing::ring_verify(d)),
    ("ca_csr", |d| {
        let _ = gatehouse_ca::csr::parse(d);
        let _ = gatehouse_ca::parse_pem_certificates(&String::from_utf8_lossy(d));
    }),
    ("policy", |d| {
        gatehouse_policy::fuzzing::compile(d);
        gatehouse_policy::fuzzing::verdict(d);
        gatehouse_policy::fuzzing::input_query(d);
    }),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let jobs: Vec<(&str, fn(&[u8]), Vec<PathBuf>)> = match args.split_first() {
        None => TARGETS
            .iter()
            .map(|&(name, hook)| (name, hook, vec![seeds.join(name)]))
            .collect(),
        Some((name, paths)) => {
            let Some(&(name, hook)) = TARGETS.iter().find(|(n, _)| n == name) else {
                let known: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
                eprintln!("unknown target {name:?}; known: {}", known.join(", "));
                return ExitCode::from(64);
            };
            let paths = if paths.is_empty() {
                vec![seeds.join(name)]
            } else {
                paths.iter().map(PathBuf::from).collect()
            };
            vec![(name, hook, paths)]
        }
    };
    let mut total = 0;
    for (name, hook, paths) in jobs {
        let files = match expand(&paths) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        if files.is_empty() {
            eprintln!("{name}: no inputs found in {paths:?}");
            return ExitCode::FAILURE;
        }
        for file in &files {
            let data = match std::fs::read(file) {
                Ok(data) => data,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            };
            hook(&data);
            // Also every prefix-truncation a fuzzer would reach first: cheap, and catches
            // slicing at the boundaries the seeds do not.
            for cut in 0..data.len().min(512) {
                hook(data.get(..cut).unwrap_or_default());
            }
        }
        println!("{name}: {} inputs ok", files.len());
        total += files.len();
    }
    println!("smoke: {total} passed, 0 failed");
    ExitCode::SUCCESS
}

/// Files named directly, plus the regular files one level inside each directory, sorted.
fn expand(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
