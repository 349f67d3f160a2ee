//! `gatehouse`: see `gatehouse --help`.
#![forbid(unsafe_code)]

/// mimalloc: the request paths allocate many small short-lived buffers; it measured faster than
/// the system allocator under load (see bench/results/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gatehouse::main()
}
