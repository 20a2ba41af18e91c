//! Record dumper for the kernel module: opens the live source, records the chosen event
//! types and prints one line per record (`ts tid dir type args`, rendered by the event
//! decoder), then the capture statistics. Used by the VM tests until the full daemon runs
//! there, and handy for looking at what the driver writes.
//!
//! ```text
//! kmod_dump [--dev DIR] [--seconds N] [--ids 3,307,...] [--names open,execve,...]
//!           [--state] [--snaplen N] [--quiet] [--cpu] [--write FILE.scap] [--ready FILE]
//! ```
//! `--cpu` ends each line with ` cpu=N`, the CPU whose ring held the record.
//! `--write` also records a capture file (scap 1.2, `source::scap_write`) that `falco -e`,
//! our reader and `sysdig -r` replay: the procfs snapshot taken when capture starts (process
//! list with parents, open fds, users, groups, machine info), then every record in the order
//! read, and before the first event of each container the metadata the container runtime's
//! files give for it (a container JSON event, as the daemon's live source looks it up:
//! `state::container_runtime`), since a replay cannot read those files.
//! `--ready FILE` creates FILE once capture is on and the snapshot is written, so a
//! script knows when to start its workload.
//! `--names` records event types by name (as rules name them) and `--state` adds what the
//! state tracker needs, as the daemon does (`KmodSource::set_interest_for`).
//! Default ids: everything the driver supports except read/write (7, 9). Stops after `--seconds` (default: run until SIGTERM/SIGINT). Exit codes: 0 ok, 2 usage,
//! 3 the driver is busy (another reader), 1 any other error. A record that does not decode
//! with the event table's layout is printed as `BAD ...` and counted in `bad=`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use falco::event::{render, table, Event};
use falco::source::kmod::{KmodError, KmodOptions, KmodSource};
use falco::source::procfs;
use falco::source::scap_write::{Tables, Writer};
use falco::state::container::{container_to_json, RecordedContainers};
use falco::state::container_runtime::ContainerResolver;
use falco::state::State;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

struct Args {
    opts: KmodOptions,
    seconds: Option<f64>,
    ids: Option<Vec<u16>>,
    names: Option<Vec<String>>,
    state: bool,
    quiet: bool,
    cpu: bool,
    write: Option<std::path::PathBuf>,
    ready: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        opts: KmodOptions::default(),
        seconds: None,
        ids: None,
        names: None,
        state: false,
        quiet: false,
        cpu: false,
        write: None,
        ready: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--dev" => args.opts.device_dir = value("--dev")?.into(),
            "--seconds" => {
                let v = value("--seconds")?;
                args.seconds = Some(
                    v.parse()
                        .map_err(|_| format!("--seconds: not a number: {v}"))?,
                );
            }
            "--snaplen" => {
                let v = value("--snaplen")?;
                args.opts.snaplen = Some(
                    v.parse()
                        .map_err(|_| format!("--snaplen: not a number: {v}"))?,
                );
            }
            "--ids" => {
                let v = value("--ids")?;
                let ids: Result<Vec<u16>, _> =
                    v.split(',').map(|s| s.trim().parse::<u16>()).collect();
                args.ids = Some(
                    ids.map_err(|_| format!("--ids: expected comma-separated event ids: {v}"))?,
                );
            }
            "--names" => {
                let v = value("--names")?;
                let names: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = names.iter().find(|n| !table::is_known_name(n)) {
                    return Err(format!("--names: unknown event name {bad}"));
                }
                args.names = Some(names);
            }
            "--state" => args.state = true,
            "--quiet" => args.quiet = true,
            "--cpu" => args.cpu = true,
            "--write" => args.write = Some(value("--write")?.into()),
            "--ready" => args.ready = Some(value("--ready")?.into()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kmod_dump: {e}");
            std::process::exit(2);
        }
    };
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    match run(&args) {
        Ok(()) => {}
        Err(e @ KmodError::Busy { .. }) => {
            eprintln!("kmod_dump: {e}");
            std::process::exit(3);
        }
        Err(e) => {
            eprintln!("kmod_dump: {e}");
            std::process::exit(1);
        }
    }
}

/// The capture being written: the file's name for errors, the writer, and the state of the
/// live system the records describe (threads and their containers, as the daemon tracks them)
/// to know which container metadata to write.
struct Capture {
    path: std::path::PathBuf,
    writer: Writer<std::io::BufWriter<std::fs::File>>,
    state: State,
    containers: RecordedContainers,
}

impl Capture {
    /// Creates the file and writes the live system's snapshot as its metadata.
    fn create(path: &std::path::Path) -> Result<Capture, String> {
        let snapshot =
            procfs::scan(&Default::default()).map_err(|e| format!("cannot read /proc: {e}"))?;
        let reader = snapshot.into_reader();
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let writer = Writer::new(std::io::BufWriter::new(file), Tables::of(&reader))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut state = State::from_reader(&reader);
        state.container_resolver = Some(ContainerResolver::new(Default::default()));
        Ok(Capture {
            path: path.to_path_buf(),
            writer,
            state,
            containers: RecordedContainers::default(),
        })
    }

    fn write(&mut self, cpu: u16, record: &[u8]) -> Result<(), String> {
        let err = |e: std::io::Error| format!("{}: {e}", self.path.display());
        if let Ok(ev) = Event::parse(record) {
            self.state.process(&ev);
            if let Some(c) = self.containers.unrecorded(&self.state, ev.tid()) {
                self.writer
                    .write_container_json(cpu, ev.ts(), &container_to_json(c))
                    .map_err(err)?;
            }
        }
        self.writer.write_event(cpu, record).map_err(err)
    }

    fn containers(&self) -> usize {
        self.state.containers.len()
    }

    fn finish(self) -> Result<u64, String> {
        let n = self.writer.events();
        self.writer
            .finish()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(n)
    }
}

fn run(args: &Args) -> Result<(), KmodError> {
    let mut source = KmodSource::open(&args.opts)?;
    let ids = match (&args.ids, &args.names) {
        (Some(ids), _) => ids.clone(),
        (None, Some(names)) => {
            let wanted: Vec<u16> = names.iter().flat_map(|n| table::ids_for_name(n)).collect();
            let report = source.set_interest_for(&wanted, args.state)?;
            if !report.unavailable.is_empty() {
                eprintln!(
                    "kmod_dump: the driver cannot record {}",
                    report.unavailable.join(", ")
                );
            }
            report.recorded
        }
        // Everything the driver can record except read/write: the dumper's own writes
        // would feed back into the capture.
        (None, None) => source
            .supported()?
            .into_iter()
            .filter(|id| !matches!(id, 7 | 9))
            .collect(),
    };
    source.set_interest(&ids)?;
    source.enable()?;
    // The snapshot is taken with capture already on: a process started in between shows in
    // both, none is missed.
    let mut capture = match &args.write {
        Some(p) => match Capture::create(p) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("kmod_dump: {e}");
                std::process::exit(1);
            }
        },
        None => None,
    };
    if let Some(ready) = &args.ready {
        if let Err(e) = std::fs::write(ready, b"") {
            eprintln!("kmod_dump: cannot create {}: {e}", ready.display());
            std::process::exit(1);
        }
    }
    eprintln!(
        "kmod_dump: recording {} event types on {} CPUs",
        ids.len(),
        source.cpu_count()
    );

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let deadline = args
        .seconds
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut line = Vec::with_capacity(1024);
    let mut bad = 0u64;
    loop {
        while let Some(origin) = source.next_with_origin() {
            let record = origin.bytes;
            line.clear();
            if let Some(c) = capture.as_mut() {
                if let Err(e) = c.write(origin.cpu, record) {
                    eprintln!("kmod_dump: {e}");
                    std::process::exit(1);
                }
            }
            match Event::parse(record) {
                Ok(ev) => {
                    let expected = table::info(ev.event_type()).map(|i| i.params.len());
                    if expected != Some(ev.nparams() as usize) {
                        bad += 1;
                        let _ = write!(
                            line,
                            "BAD type={} nparams={} expected={expected:?}",
                            ev.event_type(),
                            ev.nparams()
                        );
                    } else if !args.quiet {
                        let dir = if ev.is_enter() { ">" } else { "<" };
                        let _ = write!(
                            line,
                            "{} {} {dir} {} ",
                            ev.ts(),
                            ev.tid(),
                            table::name_of(ev.event_type())
                        );
                        render::args(&ev, &render::NoState, &mut line);
                    }
                }
                Err(e) => {
                    bad += 1;
                    let _ = write!(line, "BAD {e}");
                }
            }
            if !line.is_empty() {
                if args.cpu {
                    let _ = write!(line, " cpu={}", origin.cpu);
                }
                if origin.truncated {
                    line.extend_from_slice(b" [truncated]");
                }
                line.push(b'\n');
                let _ = out.write_all(&line);
            }
        }
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if STOP.load(Ordering::Relaxed) || expired {
            break;
        }
        let _ = out.flush();
        let wait = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        source.wait(wait);
    }
    source.disable()?;
    // Records committed before capture stopped.
    while let Some(origin) = source.next_with_origin() {
        if Event::parse(origin.bytes).is_err() {
            bad += 1;
        }
        if let Some(c) = capture.as_mut() {
            if let Err(e) = c.write(origin.cpu, origin.bytes) {
                eprintln!("kmod_dump: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Some(c) = capture.take() {
        eprintln!(
            "kmod_dump: described {} containers (runtime metadata)",
            c.containers()
        );
        match c.finish() {
            Ok(n) => eprintln!("kmod_dump: wrote {n} events"),
            Err(e) => {
                eprintln!("kmod_dump: {e}");
                std::process::exit(1);
            }
        }
    }
    let s = source.stats();
    let _ = writeln!(
        out,
        "STATS events={} delivered={} drops_full={} drops_fault={} truncated={} corrupt={} bad={bad}",
        s.events, s.delivered, s.drops_full, s.drops_fault, s.truncated, s.corrupt
    );
    let _ = out.flush();
    Ok(())
}
