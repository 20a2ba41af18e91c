//! falco.service is `Type=notify`: the daemon sends `READY=1` (with its pid) on `$NOTIFY_SOCKET`
//! once the pipeline runs, `STOPPING=1` when a signal stops it, and nothing when it cannot start.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Fixture {
    dir: PathBuf,
    socket: UnixDatagram,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("falco-notify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = UnixDatagram::bind(dir.join("notify")).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        std::fs::write(
            dir.join("falco.yaml"),
            "engine:\n  kind: nodriver\nwebserver:\n  enabled: false\nstdout_output:\n  enabled: false\n",
        )
        .unwrap();
        Fixture { dir, socket }
    }

    fn start(&self, rules: &str) -> Child {
        let rules_file = self.dir.join("rules.yaml");
        std::fs::write(&rules_file, rules).unwrap();
        Command::new(env!("CARGO_BIN_EXE_falco"))
            .arg("-c")
            .arg(self.dir.join("falco.yaml"))
            .arg("-r")
            .arg(&rules_file)
            .env("NOTIFY_SOCKET", self.dir.join("notify"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// The next datagram; None on the read timeout. Other errors fail the test with their cause.
    ///
    /// EINTR is retried: a recv(2) with a receive timeout (SO_RCVTIMEO) is not restarted by the
    /// kernel after a stop and continue of the process (SIGSTOP/SIGCONT, a cgroup freeze, a
    /// ptrace attach), with or without a signal handler, so it fails with EINTR at once. That is
    /// how this test once failed in a full run after 0.47 s: reading the error as "no READY".
    fn receive(&self) -> Option<String> {
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => return Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("recv on the notify socket: {e}"),
            }
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const RULES: &str =
    "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n";

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
}

#[test]
fn daemon_notifies_ready_with_its_pid_then_stopping() {
    let fixture = Fixture::new("ready");
    let mut child = fixture.start(RULES);
    let ready = fixture.receive().expect("no READY=1 within 60 s");
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    assert!(
        ready
            .lines()
            .any(|l| l == format!("MAINPID={}", child.id())),
        "{ready:?}"
    );
    signal(&child, libc::SIGTERM);
    let stopping = fixture.receive().expect("no STOPPING=1 after SIGTERM");
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn daemon_that_cannot_start_never_notifies_ready() {
    let fixture = Fixture::new("broken");
    let mut child = fixture.start("- rule: r\n  desc: d\n");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    fixture
        .socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert_eq!(
        fixture.receive(),
        None,
        "READY sent by a daemon that failed"
    );
}

#[test]
fn a_stop_and_continue_of_the_test_process_does_not_lose_the_notification() {
    let fixture = Fixture::new("stopped");
    // The whole test process is stopped and continued while it waits in recv.
    let pid = std::process::id();
    let mut stopper = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep 0.3; kill -STOP {pid}; sleep 0.2; kill -CONT {pid}"
        ))
        .spawn()
        .unwrap();
    let address = fixture.dir.join("notify");
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        falco::notify::Notifier::to_socket(address.to_str().unwrap())
            .ready("late")
            .unwrap();
    });
    let message = fixture.receive();
    assert!(stopper.wait().unwrap().success());
    sender.join().unwrap();
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.starts_with("READY=1\n")),
        "{message:?}"
    );
}
