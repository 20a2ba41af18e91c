//! Falco's command-line flags, parsed into [`Options`].
//!
//! The spelling follows Falco 0.39 (`falco [OPTION...]`): short flags take attached values
//! (`-pc`, `-ojson_output=true`), `--list` takes an optional `=SOURCE`, and repeated `-o`, `-r`
//! and `-V` keep their order. Flags removed upstream (`-e`, `-t`, `-T`, `-D`) are still
//! accepted because old unit files and scripts use them.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

#[derive(Parser, Debug, Default, Clone)]
#[command(
    name = "falco",
    override_usage = "falco [OPTION...]",
    about = "Falco - Cloud Native Runtime Security",
    disable_version_flag = true,
    disable_help_flag = true,
    after_help = "Alerts go to the channels enabled in falco.yaml (stdout, file, syslog, program, http).\n\
                  Configuration: /etc/falco/falco.yaml; rules: /etc/falco/falco_rules.yaml and friends."
)]
pub struct Options {
    /// Print this help list and exit.
    #[arg(short = 'h', long = "help", action = ArgAction::SetTrue)]
    pub help: bool,

    /// Configuration file. If not specified, /etc/falco/falco.yaml is used.
    #[arg(short = 'c', value_name = "path")]
    pub config: Option<PathBuf>,

    /// Print the config json schema and exit.
    #[arg(long = "config-schema")]
    pub config_schema: bool,

    /// Print the rule json schema and exit.
    #[arg(long = "rule-schema")]
    pub rule_schema: bool,

    /// Consider every event type, including the ones ignored by default (see -i).
    #[arg(short = 'A')]
    pub all_events: bool,

    /// Print data buffers in base64 (useful for binary data).
    #[arg(short = 'b', long = "print-base64")]
    pub print_base64: bool,

    /// Disable a specific event source (repeatable). Mutually exclusive with --enable-source.
    #[arg(long = "disable-source", value_name = "event_source")]
    pub disable_source: Vec<String>,

    /// Enable only these event sources (repeatable). Mutually exclusive with --disable-source.
    #[arg(long = "enable-source", value_name = "event_source")]
    pub enable_source: Vec<String>,

    /// Run Falco without processing events: load config and rules, then exit.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Read events from a capture file (deprecated upstream: use
    /// -o engine.kind=replay -o engine.replay.capture_file=FILE).
    #[arg(short = 'e', value_name = "events_file")]
    pub events_file: Option<PathBuf>,

    /// Generate a gVisor configuration to attach Falco to (not supported by this build).
    #[arg(long = "gvisor-generate-config", value_name = "socket_path", num_args = 0..=1,
          require_equals = true, default_missing_value = "/run/falco/gvisor.sock")]
    pub gvisor_generate_config: Option<String>,

    /// Print the system calls Falco ignores by default (the high-volume I/O family) and exit.
    #[arg(short = 'i')]
    pub print_ignored_events: bool,

    /// List the loaded rules and exit: one line per rule with its priority, whether it is
    /// enabled (after -t/-T/-D and the `rules:` selection), its rules file and line, and its
    /// tags. Rules below `-o priority=P` are not loaded, so not listed. With -N only names,
    /// with -v Falco's name/description table, with json_output Falco's JSON document.
    #[arg(short = 'L')]
    pub list_rules: bool,

    /// With -L, list only the rules carrying this tag (repeatable: any of the tags).
    #[arg(long = "list-tag", value_name = "tag")]
    pub list_tags: Vec<String>,

    /// Show the name and description of the rule `rule` and exit.
    #[arg(short = 'l', value_name = "rule")]
    pub describe_rule: Option<String>,

    /// List the fields usable in rules, optionally only those of one event source.
    #[arg(long = "list", value_name = "source", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub list_fields: Option<String>,

    /// List every event type with its parameters and exit.
    #[arg(long = "list-events")]
    pub list_events: bool,

    /// Print info about the loaded plugins and exit.
    #[arg(long = "list-plugins")]
    pub list_plugins: bool,

    /// Stop after <num_seconds> seconds (of event time when replaying a capture).
    #[arg(short = 'M', value_name = "num_seconds")]
    pub duration_secs: Option<u64>,

    /// With --list or --list-events, print in Markdown.
    #[arg(long = "markdown")]
    pub markdown: bool,

    /// With --list, print only field names; with -L, only rule names.
    #[arg(short = 'N')]
    pub names_only: bool,

    /// Set the value of a config key: -o key=value (dot paths, [n] index, [] append,
    /// {...} YAML objects). Repeatable; applied in order after the config file.
    #[arg(short = 'o', long = "option", value_name = "opt")]
    pub options: Vec<String>,

    /// Print info about a plugin and exit (plugins are not supported by this build).
    #[arg(long = "plugin-info", value_name = "plugin_name")]
    pub plugin_info: Option<String>,

    /// Append a format string to every rule output: 'c'/'container' for container
    /// details, 'k'/'kubernetes' for pod details, anything else verbatim.
    #[arg(short = 'p', long = "print", value_name = "output_format")]
    pub print_format: Option<String>,

    /// Write the daemon's pid to this file.
    #[arg(short = 'P', long = "pidfile", value_name = "pid_file")]
    pub pidfile: Option<PathBuf>,

    /// Rules file or directory (repeatable). Replaces rules_files of the config.
    #[arg(short = 'r', value_name = "rules_file")]
    pub rules_files: Vec<PathBuf>,

    /// Bytes of each I/O buffer captured (default 80).
    #[arg(short = 'S', long = "snaplen", value_name = "len")]
    pub snaplen: Option<u32>,

    /// Print support information (version, config, rules files with their contents) and exit.
    #[arg(long = "support")]
    pub support: bool,

    /// Only run rules with this tag (repeatable; removed upstream in 0.39, kept for old scripts).
    #[arg(short = 't', value_name = "tag")]
    pub enable_tags: Vec<String>,

    /// Disable rules with this tag (repeatable; removed upstream in 0.39).
    #[arg(short = 'T', value_name = "tag")]
    pub disable_tags: Vec<String>,

    /// Disable rules whose name contains this substring (removed upstream in 0.39).
    #[arg(short = 'D', value_name = "substring")]
    pub disable_rules: Vec<String>,

    /// Turn off output buffering for the configured outputs.
    #[arg(short = 'U', long = "unbuffered")]
    pub unbuffered: bool,

    /// Read the rules file(s), print the result of their validation and exit (repeatable).
    #[arg(short = 'V', long = "validate", value_name = "rules_file")]
    pub validate: Vec<PathBuf>,

    /// Verbose output.
    #[arg(short = 'v')]
    pub verbose: bool,

    /// Print version information and exit.
    #[arg(long = "version")]
    pub version: bool,

    /// Print the system page size and exit.
    #[arg(long = "page-size")]
    pub page_size: bool,
}

impl Options {
    /// Parses `argv` (program name first).
    pub fn parse_from_args<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Options::try_parse_from(argv)
    }

    /// The help text, as printed by `-h`/`--help`.
    pub fn help_text() -> String {
        use clap::CommandFactory;
        Options::command().render_help().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        let mut v = vec!["falco"];
        v.extend_from_slice(args);
        Options::parse_from_args(v).expect("parse")
    }

    #[test]
    fn repeated_options_keep_order() {
        let o = parse(&[
            "-o", "a=1", "-r", "x.yaml", "-ob=2", "-r", "y.yaml", "-V", "z.yaml",
        ]);
        assert_eq!(o.options, vec!["a=1", "b=2"]);
        assert_eq!(
            o.rules_files,
            vec![PathBuf::from("x.yaml"), PathBuf::from("y.yaml")]
        );
        assert_eq!(o.validate, vec![PathBuf::from("z.yaml")]);
    }

    #[test]
    fn list_takes_an_optional_source() {
        assert_eq!(parse(&["--list"]).list_fields.as_deref(), Some(""));
        assert_eq!(
            parse(&["--list=syscall"]).list_fields.as_deref(),
            Some("syscall")
        );
        assert_eq!(parse(&[]).list_fields, None);
    }

    #[test]
    fn print_format_takes_attached_values() {
        assert_eq!(parse(&["-pc"]).print_format.as_deref(), Some("c"));
        assert_eq!(parse(&["-p", "k"]).print_format.as_deref(), Some("k"));
    }

    #[test]
    fn unknown_flags_are_errors() {
        assert!(Options::parse_from_args(["falco", "--no-such-flag"]).is_err());
    }

    #[test]
    fn help_lists_every_documented_flag() {
        let help = Options::help_text();
        for flag in [
            "Usage:",
            "falco [OPTION...]",
            "--help",
            "--config-schema",
            "--rule-schema",
            "--disable-source",
            "--dry-run",
            "--enable-source",
            "--list",
            "--list-events",
            "--list-plugins",
            "--list-tag",
            "--markdown",
            "--option",
            "--plugin-info",
            "--print",
            "--pidfile",
            "--support",
            "--unbuffered",
            "--validate",
            "--version",
            "--page-size",
            "--gvisor-generate-config",
        ] {
            assert!(help.contains(flag), "help lacks {flag}:\n{help}");
        }
    }
}
