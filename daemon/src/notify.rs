//! systemd readiness notification (the sd_notify protocol) for `Type=notify` units.
//!
//! falco.service is `Type=notify`: `systemctl start falco` returns only once the daemon sends
//! `READY=1`, which it must do when the pipeline is live (rings open, rules loaded, outputs and
//! web server up), not when the process starts, and `STOPPING=1` when it shuts down. A SIGHUP
//! reload (`systemctl reload`) sends nothing: the old pipeline runs until the new one is ready,
//! so the unit stays active throughout ([`Notifier::reloading`] exists for the protocol test).
//!
//! The protocol: one datagram of `KEY=VALUE` lines to the unix socket named by `$NOTIFY_SOCKET`
//! (a path, or an abstract name written with a leading `@`). Without the variable (not started
//! by systemd) every call does nothing.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;

/// Where notifications go, read once from `$NOTIFY_SOCKET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifier {
    socket: Option<String>,
}

impl Notifier {
    /// The notifier of this process: systemd's socket if `$NOTIFY_SOCKET` is set, else none.
    pub fn from_env() -> Notifier {
        Notifier {
            socket: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// A notifier sending to `socket` (`@name` for an abstract socket).
    pub fn to_socket(socket: impl Into<String>) -> Notifier {
        Notifier {
            socket: Some(socket.into()),
        }
    }

    /// Whether a service manager is listening.
    pub fn is_enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// The pipeline is live: `READY=1` with the daemon's pid and a status line.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!(
            "READY=1\nMAINPID={}\nSTATUS={}",
            std::process::id(),
            one_line(status)
        ))
    }

    /// A reload (SIGHUP) started; [`Notifier::ready`] must follow when it is done.
    pub fn reloading(&self) -> io::Result<()> {
        self.send("RELOADING=1\nSTATUS=reloading configuration and rules")
    }

    /// The daemon is shutting down.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1\nSTATUS=stopping")
    }

    /// A free-form status line (shown by `systemctl status falco`).
    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// Sends one notification datagram; does nothing without a socket.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let Some(socket) = &self.socket else {
            return Ok(());
        };
        let address = socket_address(socket)?;
        let sender = UnixDatagram::unbound()?;
        sender
            .send_to_addr(message.as_bytes(), &address)
            .map_err(|e| io::Error::new(e.kind(), format!("notify socket {socket}: {e}")))?;
        Ok(())
    }
}

fn socket_address(socket: &str) -> io::Result<SocketAddr> {
    if let Some(name) = socket.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else {
        SocketAddr::from_pathname(Path::new(socket))
    }
}

/// A status value must stay on its line: the protocol is newline-separated.
fn one_line(status: &str) -> String {
    status.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(listener: &UnixDatagram) -> String {
        let mut buffer = [0u8; 512];
        let n = listener.recv(&mut buffer).unwrap();
        String::from_utf8(buffer[..n].to_vec()).unwrap()
    }

    #[test]
    fn ready_reaches_a_path_socket_with_pid_and_status() {
        let dir = std::env::temp_dir().join(format!("falco-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::to_socket(path.to_str().unwrap());
        notifier.ready("watching\nsyscalls").unwrap();
        assert_eq!(
            receive(&listener),
            format!(
                "READY=1\nMAINPID={}\nSTATUS=watching syscalls",
                std::process::id()
            )
        );
        notifier.reloading().unwrap();
        assert!(receive(&listener).starts_with("RELOADING=1\n"));
        notifier.stopping().unwrap();
        assert!(receive(&listener).starts_with("STOPPING=1\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn abstract_sockets_are_written_with_an_at_sign() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("falco-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        Notifier::to_socket(format!("@{name}"))
            .status("loading rules")
            .unwrap();
        assert_eq!(receive(&listener), "STATUS=loading rules");
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_nothing_fails() {
        let notifier = Notifier { socket: None };
        assert!(!notifier.is_enabled());
        notifier.ready("live").unwrap();
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_it() {
        let error = Notifier::to_socket("/nonexistent/falco-notify.sock")
            .ready("live")
            .unwrap_err();
        assert!(error.to_string().contains("/nonexistent/falco-notify.sock"));
    }
}
