//! The client side of the webserver tests: `curl` and `promtool check metrics`
//! (scripts/setup.sh installs both). Shared by the integration tests (tests/common) and the web
//! unit tests (`#[path]`).

use std::process::{Command, Stdio};

/// One HTTP exchange as curl saw it; status 0 when there was no answer.
pub struct Reply {
    pub status: u16,
    /// The response head, lower-cased.
    pub headers: String,
    pub body: String,
}

/// `curl` with `args` (a URL, and options such as `-X POST` or `--cacert FILE`).
pub fn curl(args: &[&str]) -> Reply {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "-o", "/dev/stdout"])
        .args(args)
        .output()
        .expect("curl must be installed (scripts/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// `promtool check metrics` on `text`: whether it passed, and what it said.
pub fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian prometheus package, scripts/setup.sh)");
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), msg)
}
