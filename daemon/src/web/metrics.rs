//! `/metrics`: Prometheus text format 0.0.4, rendered from [`Health`] and the outputs' counters
//! on each request.
//!
//! Series:
//! - falco-exporter's `falco_events{hostname,k8s_ns_name,k8s_pod_name,priority,rule,source,tags}`
//!   (one per label set, counted when the outputs deliver an alert, internal ones included), so
//!   the "Falco Dashboard" (Grafana 11914) works unchanged;
//! - Falco 0.39's native `falcosecurity_*` families for the enabled `metrics.*` categories;
//! - the daemon's own: output queue depth and per-channel delivery, reloads, health.
//!
//! Deviations from Falco, so that `promtool check metrics` is clean: one `# HELP`/`# TYPE` pair per
//! family (Falco repeats it per sample), label values escaped, `falco_events` typed `untyped`
//! (a counter must end in `_total`, and the name is what dashboards query), gauges without the
//! `_total` suffix (`falcosecurity_falco_host_num_cpus`, `falcosecurity_scap_n_threads`, ...)
//! and timestamps in seconds (`falcosecurity_falco_start_timestamp_seconds`).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::UNIX_EPOCH;

use super::health::Health;
use crate::outputs::{ChannelKind, OutputStats};

/// `Content-Type` of the answer (what client_golang sends for format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which `metrics.*_enabled` categories are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsCategories {
    pub rules_counters: bool,
    pub resource_utilization: bool,
    pub state_counters: bool,
    pub kernel_event_counters: bool,
}

impl Default for MetricsCategories {
    fn default() -> Self {
        MetricsCategories {
            rules_counters: true,
            resource_utilization: true,
            state_counters: true,
            kernel_event_counters: true,
        }
    }
}

impl MetricsCategories {
    pub fn from_config(m: &crate::config::MetricsConfig) -> Self {
        MetricsCategories {
            rules_counters: m.rules_counters_enabled,
            resource_utilization: m.resource_utilization_enabled,
            state_counters: m.state_counters_enabled,
            kernel_event_counters: m.kernel_event_counters_enabled,
        }
    }
}

/// Writes families in the text format.
struct Exposition {
    out: String,
}

enum Kind {
    Counter,
    Gauge,
    Untyped,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
        };
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match value.into() {
            Value::Int(n) => {
                let _ = write!(self.out, "{n}");
            }
            Value::Float(f) if f.is_finite() => {
                let _ = write!(self.out, "{f}");
            }
            Value::Float(_) => self.out.push_str("NaN"),
        }
        self.out.push('\n');
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Into<Value>) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Int(n)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

/// Label values: backslash, double quote and newline escaped (text format 0.0.4).
fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A label name from free text, as Falco sanitises tag names: characters outside
/// `[a-zA-Z0-9_]` become `_`, runs of `_` collapse.
pub fn sanitize_label_name(prefix: &str, raw: &str) -> String {
    let mut s = String::from(prefix);
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && s.ends_with('_') {
            continue;
        }
        s.push(c);
    }
    s
}

/// Process and host figures read from /proc.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcFigures {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub vsz_bytes: u64,
    pub pss_bytes: Option<u64>,
    pub host_cpu_ratio: Option<f64>,
    pub host_memory_used_bytes: Option<u64>,
    pub host_procs_running: Option<u64>,
    pub host_open_fds: Option<u64>,
    pub host_boot_seconds: Option<u64>,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Parses `/proc/<pid>/stat` text: (cpu seconds, vsize bytes, rss bytes).
pub fn parse_proc_stat(text: &str) -> Option<(f64, u64, u64)> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime 15, vsize 23, rss 24.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu = (field(14)? + field(15)?) as f64 / clock_ticks();
    Some((cpu, field(23)?, field(24)? * page_size()))
}

/// `Key:   123 kB` from /proc files such as meminfo and smaps_rollup, in bytes.
fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let n: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(n * 1024)
    })
}

/// Host CPU busy ratio since boot from `/proc/stat`'s `cpu` line.
fn host_cpu_ratio(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    (total > 0).then(|| (total - idle) as f64 / total as f64)
}

fn stat_field(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then_some(())?;
        it.next()?.parse().ok()
    })
}

impl ProcFigures {
    pub fn read() -> ProcFigures {
        let mut p = ProcFigures::default();
        if let Some((cpu, vsz, rss)) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(parse_proc_stat)
        {
            p.cpu_seconds = cpu;
            p.vsz_bytes = vsz;
            p.rss_bytes = rss;
        }
        p.pss_bytes = std::fs::read_to_string("/proc/self/smaps_rollup")
            .ok()
            .and_then(|t| kb_field(&t, "Pss"));
        if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
            p.host_cpu_ratio = host_cpu_ratio(&stat);
            p.host_procs_running = stat_field(&stat, "procs_running");
            p.host_boot_seconds = stat_field(&stat, "btime");
        }
        if let Ok(mem) = std::fs::read_to_string("/proc/meminfo") {
            if let (Some(total), Some(avail)) =
                (kb_field(&mem, "MemTotal"), kb_field(&mem, "MemAvailable"))
            {
                p.host_memory_used_bytes = Some(total.saturating_sub(avail));
            }
        }
        p.host_open_fds = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse().ok());
        p
    }
}

fn num_cpus() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as u64
}

fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Renders every series. `hostname` is the alerts' hostname (`FALCO_HOSTNAME` or gethostname).
pub fn render(health: &Health, cats: MetricsCategories, hostname: &str) -> String {
    render_with(health, cats, hostname, &ProcFigures::read())
}

/// [`render`] with given /proc figures (tests).
pub fn render_with(
    health: &Health,
    cats: MetricsCategories,
    hostname: &str,
    proc_figures: &ProcFigures,
) -> String {
    let mut e = Exposition {
        out: String::with_capacity(8192),
    };
    let outputs = health.outputs_stats();
    exporter_events(&mut e, outputs.as_deref(), hostname);
    wrapper(&mut e, health, hostname, outputs.as_deref());
    if cats.rules_counters {
        rules_matches(&mut e, health);
    }
    if cats.resource_utilization {
        resources(&mut e, health, proc_figures);
    }
    if cats.state_counters {
        state(&mut e, health);
    }
    if cats.kernel_event_counters {
        kernel(&mut e, health);
    }
    daemon(&mut e, health, outputs.as_deref());
    e.out
}

fn exporter_events(e: &mut Exposition, outputs: Option<&OutputStats>, hostname: &str) {
    e.family(
        "falco_events",
        Kind::Untyped,
        "Alerts delivered to the outputs, as falco-exporter counts them (a counter).",
    );
    let Some(stats) = outputs else { return };
    for (l, n) in stats.events() {
        let priority = (l.priority as u8).to_string();
        e.sample(
            "falco_events",
            &[
                ("hostname", hostname),
                ("k8s_ns_name", &l.k8s_ns_name),
                ("k8s_pod_name", &l.k8s_pod_name),
                ("priority", &priority),
                ("rule", &l.rule),
                ("source", &l.source),
                ("tags", &l.tags),
            ],
            n,
        );
    }
}

fn wrapper(e: &mut Exposition, health: &Health, hostname: &str, outputs: Option<&OutputStats>) {
    let run = health.run_info();
    e.family(
        "falcosecurity_scap_engine_name_info",
        Kind::Gauge,
        "Event source driver in use (engine.kind).",
    );
    e.sample(
        "falcosecurity_scap_engine_name_info",
        &[("engine_name", &run.engine_name)],
        1,
    );
    e.family(
        "falcosecurity_falco_version_info",
        Kind::Gauge,
        "Falco version this daemon is compatible with.",
    );
    e.sample(
        "falcosecurity_falco_version_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    if let Some(release) = kernel_release() {
        e.family(
            "falcosecurity_falco_kernel_release_info",
            Kind::Gauge,
            "Kernel release (uname -r).",
        );
        e.sample(
            "falcosecurity_falco_kernel_release_info",
            &[("kernel_release", &release)],
            1,
        );
    }
    e.family(
        "falcosecurity_evt_hostname_info",
        Kind::Gauge,
        "Hostname the alerts carry.",
    );
    e.sample(
        "falcosecurity_evt_hostname_info",
        &[("hostname", hostname)],
        1,
    );
    for (family, files, help) in [
        (
            "falcosecurity_falco_sha256_rules_files_info",
            &run.rules_files,
            "SHA-256 of each loaded rules file.",
        ),
        (
            "falcosecurity_falco_sha256_config_files_info",
            &run.config_files,
            "SHA-256 of each loaded config file.",
        ),
    ] {
        e.family(family, Kind::Gauge, help);
        // Two files of the same name and contents would be the same series: emit it once.
        let unique: BTreeSet<(&str, &str)> = files
            .iter()
            .map(|f| (f.file_name.as_str(), f.sha256.as_str()))
            .collect();
        for (name, sha) in unique {
            e.sample(family, &[("file_name", name), ("sha256", sha)], 1);
        }
    }
    e.family(
        "falcosecurity_falco_evt_source_info",
        Kind::Gauge,
        "Enabled event sources.",
    );
    let sources: BTreeSet<&str> = run.event_sources.iter().map(String::as_str).collect();
    for s in sources {
        e.sample(
            "falcosecurity_falco_evt_source_info",
            &[("evt_source", s)],
            1,
        );
    }
    let start = health
        .start_time()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    e.single(
        "falcosecurity_falco_start_timestamp_seconds",
        Kind::Gauge,
        "Start of the daemon, seconds since the epoch.",
        start,
    );
    e.single(
        "falcosecurity_falco_host_num_cpus",
        Kind::Gauge,
        "Online CPUs.",
        num_cpus(),
    );
    e.single(
        "falcosecurity_falco_outputs_queue_num_drops_total",
        Kind::Counter,
        "Alerts dropped because the outputs queue was full (outputs_queue.capacity).",
        outputs.map_or(0, |o| o.queue_drops.load(Ordering::Relaxed)),
    );
    e.single(
        "falcosecurity_falco_duration_seconds_total",
        Kind::Counter,
        "Seconds since the daemon started.",
        health.uptime().as_secs(),
    );
}

fn rules_matches(e: &mut Exposition, health: &Health) {
    const NAME: &str = "falcosecurity_falco_rules_matches_total";
    e.family(NAME, Kind::Counter, "Matches per rule.");
    let rules = health.rules();
    for (rule, n) in rules.matched() {
        let priority = (rule.priority as u8).to_string();
        let mut labels: Vec<(String, &str)> = vec![
            ("priority".into(), priority.as_str()),
            ("rule_name".into(), rule.name.as_str()),
            ("source".into(), rule.source.as_str()),
        ];
        // Distinct tags may sanitise to the same label name; a label may appear only once.
        let tag_labels: BTreeSet<String> = rule
            .tags
            .iter()
            .map(|t| sanitize_label_name("tag_", t))
            .collect();
        labels.extend(tag_labels.into_iter().map(|k| (k, "true")));
        let refs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        e.sample(NAME, &refs, n);
    }
}

fn resources(e: &mut Exposition, health: &Health, p: &ProcFigures) {
    let elapsed = health.uptime().as_secs_f64();
    e.single(
        "falcosecurity_falco_cpu_usage_ratio",
        Kind::Gauge,
        "CPU time of the daemon over its wall time since start.",
        if elapsed > 0.0 {
            p.cpu_seconds / elapsed
        } else {
            0.0
        },
    );
    e.single(
        "falcosecurity_falco_cpu_seconds_total",
        Kind::Counter,
        "CPU time (user + system) used by the daemon.",
        p.cpu_seconds,
    );
    e.single(
        "falcosecurity_falco_memory_rss_bytes",
        Kind::Gauge,
        "Resident set size of the daemon.",
        p.rss_bytes,
    );
    e.single(
        "falcosecurity_falco_memory_vsz_bytes",
        Kind::Gauge,
        "Virtual memory size of the daemon.",
        p.vsz_bytes,
    );
    if let Some(pss) = p.pss_bytes {
        e.single(
            "falcosecurity_falco_memory_pss_bytes",
            Kind::Gauge,
            "Proportional set size of the daemon.",
            pss,
        );
    }
    if let Some(r) = p.host_cpu_ratio {
        e.single(
            "falcosecurity_falco_host_cpu_usage_ratio",
            Kind::Gauge,
            "Busy share of the host's CPU time since boot.",
            r,
        );
    }
    if let Some(m) = p.host_memory_used_bytes {
        e.single(
            "falcosecurity_falco_host_memory_used_bytes",
            Kind::Gauge,
            "Host memory in use (MemTotal - MemAvailable).",
            m,
        );
    }
    if let Some(n) = p.host_procs_running {
        e.single(
            "falcosecurity_falco_host_procs_running",
            Kind::Gauge,
            "Runnable processes on the host.",
            n,
        );
    }
    if let Some(n) = p.host_open_fds {
        e.single(
            "falcosecurity_falco_host_open_fds",
            Kind::Gauge,
            "Open file handles on the host.",
            n,
        );
    }
    if let Some(b) = p.host_boot_seconds {
        e.single(
            "falcosecurity_falco_host_boot_timestamp_seconds",
            Kind::Gauge,
            "Host boot time, seconds since the epoch.",
            b,
        );
    }
}

fn state(e: &mut Exposition, health: &Health) {
    let s = health.state_counts();
    e.single(
        "falcosecurity_scap_n_threads",
        Kind::Gauge,
        "Threads in the state table.",
        s.threads,
    );
    e.single(
        "falcosecurity_scap_n_fds",
        Kind::Gauge,
        "File descriptors in the state table.",
        s.fds,
    );
    for (name, help, v) in [
        (
            "falcosecurity_scap_n_added_threads_total",
            "Threads added to the state table.",
            s.threads_added,
        ),
        (
            "falcosecurity_scap_n_removed_threads_total",
            "Threads removed from the state table.",
            s.threads_removed,
        ),
        (
            "falcosecurity_scap_n_drops_full_threadtable_total",
            "Threads not added because the table was full.",
            s.threads_dropped_full_table,
        ),
        (
            "falcosecurity_scap_n_added_fds_total",
            "File descriptors added to the state table.",
            s.fds_added,
        ),
        (
            "falcosecurity_scap_n_removed_fds_total",
            "File descriptors removed from the state table.",
            s.fds_removed,
        ),
    ] {
        e.single(name, Kind::Counter, help, v);
    }
    e.single(
        "falcosecurity_scap_n_containers",
        Kind::Gauge,
        "Containers with metadata in the state table.",
        s.containers,
    );
    // Ours (Falco 0.39 reads container metadata through the runtimes' APIs and counts none
    // of this): the live source's lookups in the runtimes' files.
    for (name, help, v) in [
        (
            "falcosecurity_falco_container_lookups_total",
            "Reads of a container runtime's files (podman, docker) for a container's metadata.",
            s.container_lookups,
        ),
        (
            "falcosecurity_falco_container_lookups_found_total",
            "Containers whose metadata a lookup found.",
            s.container_lookups_found,
        ),
        (
            "falcosecurity_falco_container_lookups_not_found_total",
            "Containers no runtime described after the quick retries (looked up again rarely).",
            s.container_lookups_not_found,
        ),
        (
            "falcosecurity_falco_container_lookup_errors_total",
            "Lookups that failed on an unreadable or malformed runtime file.",
            s.container_lookup_errors,
        ),
    ] {
        e.single(name, Kind::Counter, help, v);
    }
}

fn kernel(e: &mut Exposition, health: &Health) {
    let c = health.source_counts();
    for (name, help, v) in [
        (
            "falcosecurity_scap_n_evts_total",
            "Events produced by the event source.",
            c.events,
        ),
        (
            "falcosecurity_scap_n_drops_total",
            "Events dropped, all reasons.",
            c.drops_buffer + c.drops_bug,
        ),
        (
            "falcosecurity_scap_n_drops_buffer_total",
            "Events dropped because a ring buffer was full.",
            c.drops_buffer,
        ),
        (
            "falcosecurity_scap_n_drops_page_faults_total",
            "User-memory reads that faulted (the event is kept, the parameter is empty).",
            c.drops_page_faults,
        ),
        (
            "falcosecurity_scap_n_drops_bug_total",
            "Records rejected as malformed.",
            c.drops_bug,
        ),
        (
            "falcosecurity_scap_n_truncated_total",
            "Events with a string or buffer cut at its capture limit.",
            c.truncated,
        ),
    ] {
        e.single(name, Kind::Counter, help, v);
    }
}

fn daemon(e: &mut Exposition, health: &Health, outputs: Option<&OutputStats>) {
    e.single(
        "falcosecurity_falco_healthy",
        Kind::Gauge,
        "1 when /healthz answers 200 (pipeline alive), else 0.",
        u64::from(health.check().is_ok()),
    );
    let (ok, failed) = health.reload_counts();
    e.single(
        "falcosecurity_falco_reloads_total",
        Kind::Counter,
        "Configuration and rules reloads that took effect.",
        ok,
    );
    e.single(
        "falcosecurity_falco_reload_failures_total",
        Kind::Counter,
        "Reloads refused because the new configuration or rules failed to load.",
        failed,
    );
    let Some(o) = outputs else { return };
    e.single(
        "falcosecurity_falco_outputs_queue_depth",
        Kind::Gauge,
        "Alerts waiting in the outputs queue.",
        o.queue_depth(),
    );
    e.single(
        "falcosecurity_falco_outputs_alerts_total",
        Kind::Counter,
        "Alerts handed to the output channels.",
        o.processed.load(Ordering::Relaxed),
    );
    for (name, help, counter) in [
        (
            "falcosecurity_falco_outputs_delivered_total",
            "Alerts written by each output channel.",
            &o.delivered,
        ),
        (
            "falcosecurity_falco_outputs_failed_total",
            "Alerts an output channel failed to write (after retries).",
            &o.failed,
        ),
        (
            "falcosecurity_falco_outputs_dropped_total",
            "Alerts an output channel dropped without trying (its own queue full).",
            &o.dropped,
        ),
    ] {
        e.family(name, Kind::Counter, help);
        for kind in ChannelKind::ALL {
            e.sample(
                name,
                &[("output", kind.name())],
                OutputStats::get(counter, kind),
            );
        }
    }
    e.single(
        "falcosecurity_falco_outputs_reopens_total",
        Kind::Counter,
        "Output reopens (SIGUSR1) handled.",
        o.reopens.load(Ordering::Relaxed),
    );
    e.single(
        "falcosecurity_falco_outputs_program_spawns_total",
        Kind::Counter,
        "Program output processes started (first start and restarts).",
        o.program_spawns.load(Ordering::Relaxed),
    );
}
