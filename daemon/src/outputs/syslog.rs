//! The syslog channel: syslog(3) with facility LOG_USER and the rule's priority as severity
//! (Emergency … Debug = 0 … 7), ident = program name, as Falco does. libc reconnects to
//! /dev/log after a syslog daemon restart; the `syslog` crate would not.

use std::io;

use super::Channel;

pub struct SyslogChannel;

impl Channel for SyslogChannel {
    fn emit(&mut self, alert: &super::Alert, line: &str) -> io::Result<()> {
        crate::logger::syslog(alert.priority, line);
        Ok(())
    }
}
