//! `gatehouse`: see `gatehouse --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    gatehouse::main()
}
