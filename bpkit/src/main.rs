//! The `bpkit` command: everything happens in [`bpkit::cli`].

fn main() -> std::process::ExitCode {
    bpkit::cli::main(std::env::args_os())
}
