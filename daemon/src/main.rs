//! The `falco` binary: everything lives in the library; this only hands over the process.

fn main() {
    std::process::exit(falco::cli::main());
}
