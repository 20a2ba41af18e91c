//! Whether a process is still running, for tests that check nothing outlives the daemon.
//! Shared by the integration tests (tests/common) and the outputs unit tests (`#[path]`).

/// Whether `pid` is still a live process (a zombie waiting for its reaper counts as gone).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}
