//! The `berth` binary: parse arguments, run the command, map errors to exit
//! codes. Everything else lives in the library and in `cli/`.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
