//! Command line: parses Falco's flags and runs the selected action.
//!
//! Informational actions (help, version, lists) answer here; everything that processes events
//! is handed to [`crate::app`].

mod options;

pub use options::Options;

/// Engine version reported to rules (`required_engine_version`) and by `--version`:
/// the one of Falco 0.39, whose rule language this build implements.
pub const ENGINE_VERSION: &str = "0.43.0";
/// Version of the falcosecurity libs whose behaviour this build follows (Falco 0.39's).
pub const LIBS_VERSION: &str = "0.18.2";
/// Plugin API version Falco 0.39 reports; plugins are not loaded by this build.
pub const PLUGIN_API_VERSION: &str = "3.7.0";
/// Version of our own driver ABI (driver/include), reported where Falco reports its driver's.
pub const DRIVER_API_VERSION: &str = "1.0.0";
pub const DRIVER_SCHEMA_VERSION: &str = "1.0.0";

/// The system calls left out unless `-A` (or `base_syscalls.all=true`) is given: the
/// high-volume I/O family, as in Falco.
pub const DEFAULT_IGNORED_SYSCALLS: &[&str] = &[
    "pread", "preadv", "pwrite", "pwritev", "read", "readv", "recv", "send", "sendfile", "write",
    "writev",
];

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "report") {
        let rest: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return crate::report::run(&rest);
    }
    if args.get(1).is_some_and(|a| a == "--print-events") {
        let rest: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return crate::state::print::run(&rest);
    }
    let opts = match Options::parse_from_args(std::env::args_os()) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    run(opts)
}

/// Runs the action selected by `opts`; returns the process exit code.
pub fn run(opts: Options) -> i32 {
    if opts.help {
        print!("{}", Options::help_text());
        return 0;
    }
    if opts.page_size {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        println!("Your system page size is: {size} bytes");
        return 0;
    }
    if opts.print_ignored_events {
        print_ignored_events();
        return 0;
    }
    if opts.version {
        print!("{}", version_text(json_output_requested(&opts)));
        return 0;
    }
    if crate::rules::cli::wants(&opts) {
        return crate::rules::cli::run(&opts);
    }
    crate::app::run(&opts)
}

/// Whether `-o json_output=...` asks for JSON (the config file's value is read by the runtime).
fn json_output_requested(opts: &Options) -> bool {
    opts.options
        .iter()
        .rev()
        .find_map(|o| o.strip_prefix("json_output="))
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

fn print_ignored_events() {
    println!("Ignored syscall(s):");
    for name in DEFAULT_IGNORED_SYSCALLS {
        println!("{name}");
    }
}

/// `--version` output: the text block Falco prints, or its JSON form.
pub fn version_text(json: bool) -> String {
    let falco_version = env!("CARGO_PKG_VERSION");
    if json {
        let doc = serde_json::json!({
            "falco_version": falco_version,
            "libs_version": LIBS_VERSION,
            "plugin_api_version": PLUGIN_API_VERSION,
            "driver_api_version": DRIVER_API_VERSION,
            "driver_schema_version": DRIVER_SCHEMA_VERSION,
            "default_driver_version": falco_version,
            "engine_version": ENGINE_VERSION.split('.').nth(1).unwrap_or("0"),
            "engine_version_semver": ENGINE_VERSION,
        });
        format!("{doc}\n")
    } else {
        format!(
            "Falco version: {falco_version}\nLibs version:  {LIBS_VERSION}\n\
             Plugin API:    {PLUGIN_API_VERSION}\nEngine:        {ENGINE_VERSION}\nDriver:\n  \
             API version:    {DRIVER_API_VERSION}\n  Schema version: {DRIVER_SCHEMA_VERSION}\n  \
             Default driver: {falco_version}\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_json_has_falcos_keys() {
        let v: serde_json::Value = serde_json::from_str(&version_text(true)).unwrap();
        for k in [
            "default_driver_version",
            "driver_api_version",
            "driver_schema_version",
            "engine_version",
            "falco_version",
            "libs_version",
            "plugin_api_version",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["engine_version"], "43");
    }

    #[test]
    fn version_text_lists_components_in_order() {
        let t = version_text(false);
        let order = [
            "Falco version:",
            "Libs version:",
            "Plugin API:",
            "Engine:",
            "Driver:",
            "API version:",
            "Schema version:",
            "Default driver:",
        ];
        let mut at = 0;
        for key in order {
            let pos = t[at..]
                .find(key)
                .unwrap_or_else(|| panic!("{key} missing or out of order"));
            at += pos + key.len();
        }
    }

    #[test]
    fn json_flag_follows_the_last_override() {
        let mut o = Options {
            options: vec!["json_output=true".into(), "json_output=false".into()],
            ..Options::default()
        };
        assert!(!json_output_requested(&o));
        o.options.push("json_output=true".into());
        assert!(json_output_requested(&o));
    }
}
