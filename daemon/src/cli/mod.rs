//! Command line: parses Falco's flags and runs the selected action.

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version") {
        println!("Falco version: {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    eprintln!("falco: not implemented yet");
    1
}
