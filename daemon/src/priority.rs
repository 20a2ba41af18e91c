//! Rule priorities: Falco's eight levels, numbered like syslog severities.

use std::fmt;
use std::str::FromStr;

/// A rule priority. The discriminant is the syslog severity (Emergency 0 … Debug 7), so a
/// smaller value is more severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priority {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Priority {
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// The name used in alerts ("Informational").
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// The short upper-case name of the exit summary ("INFO").
    pub fn short_upper(self) -> &'static str {
        match self {
            Priority::Emergency => "EMERGENCY",
            Priority::Alert => "ALERT",
            Priority::Critical => "CRITICAL",
            Priority::Error => "ERROR",
            Priority::Warning => "WARNING",
            Priority::Notice => "NOTICE",
            Priority::Informational => "INFO",
            Priority::Debug => "DEBUG",
        }
    }

    /// The syslog severity (LOG_EMERG … LOG_DEBUG).
    pub fn syslog_severity(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a string that names no priority.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority '{0}' (expected one of emergency, alert, critical, error, warning, notice, informational, debug)")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    /// Case-insensitive, with Falco's aliases (`info`, `warn`, `err`, `crit`, `emerg`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = match s.trim().to_ascii_lowercase().as_str() {
            "emergency" | "emerg" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" | "crit" => Priority::Critical,
            "error" | "err" => Priority::Error,
            "warning" | "warn" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return Err(UnknownPriority(s.to_string())),
        };
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases_case_insensitively() {
        assert_eq!("WARNING".parse(), Ok(Priority::Warning));
        assert_eq!("Info".parse(), Ok(Priority::Informational));
        assert_eq!("warn".parse(), Ok(Priority::Warning));
        assert_eq!("DEBUG".parse(), Ok(Priority::Debug));
        assert!("loud".parse::<Priority>().is_err());
    }

    #[test]
    fn order_follows_syslog_severity() {
        assert!(Priority::Emergency < Priority::Debug);
        assert_eq!(Priority::Critical.syslog_severity(), 2);
        for (i, p) in Priority::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
        }
        assert_eq!(Priority::Informational.short_upper(), "INFO");
    }
}
