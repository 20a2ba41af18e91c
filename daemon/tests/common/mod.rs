//! Helpers shared by the integration tests: a private mount namespace (a tmpfs over /dev for a
//! private syslog socket, a tiny tmpfs for disk-full) without touching the host, temporary
//! directories, polling, and large captures for replay.

#![allow(dead_code)]

#[path = "../support/http_client.rs"]
pub mod http_client;
#[path = "../support/process.rs"]
pub mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const INSIDE: &str = "FALCO_TEST_INSIDE_MOUNT_NS";

/// Runs test `name` of this test binary again inside `unshare -m` (as root). Returns true in the
/// re-executed copy, which does the work; the outer copy asserts that it passed and returns false.
pub fn in_private_mount_namespace(name: &str) -> bool {
    if std::env::var(INSIDE).as_deref() == Ok(name) {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, name)
        .output()
        .expect("unshare (util-linux) must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name} in a private mount namespace (needs root) failed:\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "{name} did not run in the namespace:\n{text}"
    );
    false
}

/// Runs a command and panics with its stderr when it fails.
pub fn sh(cmd: &str, args: &[&str]) {
    // stdin inherited: `output()` would open /dev/null, which private_dev() is about to create.
    let out = Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Mounts a tmpfs of `size` (e.g. "64k") on `dir`; only valid inside the private namespace.
pub fn mount_tmpfs(dir: &Path, size: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let opts = format!("size={size},mode=755");
    sh(
        "mount",
        &["-t", "tmpfs", "-o", &opts, "tmpfs", dir.to_str().unwrap()],
    );
}

/// Replaces /dev with a tmpfs holding the usual character devices, so a test can own /dev/log.
pub fn private_dev() {
    mount_tmpfs(Path::new("/dev"), "1m");
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("random", 1, 8),
        ("urandom", 1, 9),
    ] {
        let path = format!("/dev/{name}");
        sh(
            "mknod",
            &[
                "-m",
                "666",
                &path,
                "c",
                &major.to_string(),
                &minor.to_string(),
            ],
        );
    }
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falco-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Polls `cond` every 20 ms for up to `secs` seconds.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

/// A capture of `events` events built from an upstream sample (scripts/benches/make-capture.py).
pub fn big_capture(dir: &Path, events: usize) -> PathBuf {
    let out = dir.join("big.scap");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/benches/make-capture.py");
    let shared = std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let src = shared.join("compat/scap/falco/psp/run_as_user_0_container.scap");
    let st = Command::new("python3")
        .arg(script)
        .arg(src)
        .arg(&out)
        .arg(events.to_string())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    out
}
