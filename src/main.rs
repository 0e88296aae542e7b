//! The `berth` binary: everything is in the library's command line.

fn main() {
    std::process::exit(berth::cli::main());
}
