//! The registry of filter fields of the `syscall` source: names, Falco types, argument kinds,
//! display hints and descriptions, with a stable `u16` id per field ([`FieldId`]).
//!
//! The rules engine resolves names here when compiling conditions and outputs; the event state
//! implements [`super::Extractor`] by matching on [`FieldId`]; `--list` prints the table.

use super::FieldArg;

/// The value type Falco gives a field (`--list` shows these names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    Int16,
    Int32,
    Int64,
    UInt32,
    UInt64,
    Double,
    Bool,
    CharBuf,
    ByteBuf,
    IpAddr,
    IpNet,
    Port,
    AbsTime,
    RelTime,
    /// `evt.rawarg.*`: the type of the named parameter of the current event.
    Dynamic,
}

/// How values of a type compare in conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Numeric,
    Bool,
    String,
    Bytes,
    Ip,
    IpNet,
    /// Numeric when the right-hand side parses as a number, string otherwise.
    Dynamic,
}

impl FieldType {
    /// The libsinsp type name, as `--list` prints it.
    pub fn falco_name(self) -> &'static str {
        match self {
            FieldType::Int16 => "INT16",
            FieldType::Int32 => "INT32",
            FieldType::Int64 => "INT64",
            FieldType::UInt32 => "UINT32",
            FieldType::UInt64 => "UINT64",
            FieldType::Double => "DOUBLE",
            FieldType::Bool => "BOOL",
            FieldType::CharBuf => "CHARBUF",
            FieldType::ByteBuf => "BYTEBUF",
            FieldType::IpAddr => "IPADDR",
            FieldType::IpNet => "IPNET",
            FieldType::Port => "PORT",
            FieldType::AbsTime => "ABSTIME",
            FieldType::RelTime => "RELTIME",
            FieldType::Dynamic => "DYNAMIC",
        }
    }

    pub fn comparison(self) -> Comparison {
        match self {
            FieldType::Int16
            | FieldType::Int32
            | FieldType::Int64
            | FieldType::UInt32
            | FieldType::UInt64
            | FieldType::Double
            | FieldType::Port
            | FieldType::AbsTime
            | FieldType::RelTime => Comparison::Numeric,
            FieldType::Bool => Comparison::Bool,
            FieldType::CharBuf => Comparison::String,
            FieldType::ByteBuf => Comparison::Bytes,
            FieldType::IpAddr => Comparison::Ip,
            FieldType::IpNet => Comparison::IpNet,
            FieldType::Dynamic => Comparison::Dynamic,
        }
    }

    /// Whether output_fields in JSON carry this type as a JSON number.
    pub fn is_numeric(self) -> bool {
        self.comparison() == Comparison::Numeric
    }
}

/// Which argument a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// `proc.aname` or `proc.aname[2]`.
    OptionalIndex,
    /// `evt.type.is[N]`.
    RequiredIndex,
    /// `container.mount.dest[/var/run/docker.sock]` or `container.mount.dest[0]`.
    RequiredKey,
    /// `proc.env` or `proc.env[HOME]`.
    OptionalKey,
    /// `evt.arg.flags`, `evt.arg[flags]` or `evt.arg[0]`.
    DottedKey,
}

/// How a value is rendered in text outputs (JSON keeps the raw number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    Default,
    /// `HH:MM:SS.nnnnnnnnn`, local time.
    TimeOfDay,
    /// `HH:MM:SS`, local time.
    TimeOfDaySeconds,
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`, UTC.
    Iso8601,
    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`, local time.
    DateTime,
    /// `YYYY-MM-DD HH:MM:SS`, local time.
    DateTimeSeconds,
}

/// One row of the registry.
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    pub id: FieldId,
    pub name: &'static str,
    pub ty: FieldType,
    pub arg: ArgKind,
    pub display: Display,
    pub desc: &'static str,
}

impl FieldInfo {
    /// The field class (`proc` for `proc.name`); `syscall.type` belongs to libsinsp's `evt` class.
    pub fn class(&self) -> &'static str {
        match self.name.split('.').next().unwrap_or(self.name) {
            "syscall" => "evt",
            class => class,
        }
    }
}

macro_rules! field_table {
    ($($variant:ident = ($name:literal, $ty:ident, $arg:ident, $disp:ident, $desc:literal)),* $(,)?) => {
        /// Stable identifier of a field; `id as u16` is what [`super::Extractor::extract`] receives.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum FieldId {
            $($variant),*
        }

        /// Every field, indexed by `FieldId as usize`.
        pub static FIELDS: &[FieldInfo] = &[
            $(FieldInfo {
                id: FieldId::$variant,
                name: $name,
                ty: FieldType::$ty,
                arg: ArgKind::$arg,
                display: Display::$disp,
                desc: $desc,
            }),*
        ];
    };
}

include!("table.rs");

impl FieldId {
    pub fn from_u16(id: u16) -> Option<FieldId> {
        FIELDS.get(id as usize).map(|f| f.id)
    }

    pub fn info(self) -> &'static FieldInfo {
        &FIELDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// Why a field reference did not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("filter_check called with nonexistent field {0}")]
    Unknown(String),
    #[error("field '{0}' requires an argument")]
    MissingArg(String),
    #[error("field '{0}' does not accept an argument")]
    UnexpectedArg(String),
    #[error("field '{0}' needs a numeric argument, got '{1}'")]
    BadIndex(String, String),
}

/// Looks a plain field name up (no argument syntax).
pub fn by_name(name: &str) -> Option<&'static FieldInfo> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<&'static str, FieldId>> = OnceLock::new();
    let index = INDEX.get_or_init(|| FIELDS.iter().map(|f| (f.name, f.id)).collect());
    index.get(name).map(|id| id.info())
}

/// Resolves a field reference as written in a condition or output: `name` is the dotted name
/// (possibly with a dotted argument such as `evt.arg.flags`), `bracket` the text between `[` and
/// `]` if present.
pub fn resolve(
    name: &str,
    bracket: Option<&str>,
) -> Result<(&'static FieldInfo, FieldArg), FieldError> {
    if let Some(info) = by_name(name) {
        let arg = match (info.arg, bracket) {
            (ArgKind::None, None) => FieldArg::None,
            (ArgKind::None, Some(_)) => return Err(FieldError::UnexpectedArg(name.to_string())),
            (ArgKind::OptionalIndex, None) | (ArgKind::OptionalKey, None) => FieldArg::None,
            (ArgKind::OptionalIndex, Some(b)) | (ArgKind::RequiredIndex, Some(b)) => {
                FieldArg::Index(parse_index(name, b)?)
            }
            (ArgKind::RequiredIndex, None)
            | (ArgKind::RequiredKey, None)
            | (ArgKind::DottedKey, None) => return Err(FieldError::MissingArg(name.to_string())),
            (ArgKind::RequiredKey, Some(b))
            | (ArgKind::OptionalKey, Some(b))
            | (ArgKind::DottedKey, Some(b)) => key_or_index(b),
        };
        return Ok((info, arg));
    }
    // Dotted argument: the longest registered prefix taking one.
    let mut cut = name.len();
    while let Some(dot) = name[..cut].rfind('.') {
        let prefix = &name[..dot];
        if let Some(info) = by_name(prefix) {
            if info.arg == ArgKind::DottedKey && bracket.is_none() && dot + 1 < name.len() {
                return Ok((info, FieldArg::Key(name[dot + 1..].to_string())));
            }
            break;
        }
        cut = dot;
    }
    let shown = match bracket {
        Some(b) => format!("{name}[{b}]"),
        None => name.to_string(),
    };
    Err(FieldError::Unknown(shown))
}

fn parse_index(name: &str, text: &str) -> Result<u32, FieldError> {
    text.trim()
        .parse::<u32>()
        .map_err(|_| FieldError::BadIndex(name.to_string(), text.to_string()))
}

fn key_or_index(text: &str) -> FieldArg {
    match text.parse::<u32>() {
        Ok(i) => FieldArg::Index(i),
        Err(_) => FieldArg::Key(text.to_string()),
    }
}

/// The field classes in `--list` order with their descriptions.
pub const CLASSES: &[(&str, &str)] = &[
    ("evt", "Event fields applicable to syscall events."),
    ("proc", "Additional information about the process and thread executing the syscall event."),
    ("thread", "Additional information about the thread executing the syscall event."),
    ("user", "Information about the user executing the specific event."),
    ("group", "Information about the user group."),
    ("fd", "Every syscall that has a file descriptor in its arguments has these fields set with information related to the file."),
    ("fdlist", "Poll event related fields."),
    ("fs", "Every syscall that has a filesystem path in its arguments has these fields set with information related to the path arguments."),
    ("container", "Container information. If the event is not happening inside a container, both id and name will be set to 'host'."),
    ("k8s", "Kubernetes context about pods and namespace name. These fields are populated with data gathered from the container runtime."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_index_the_table() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.id as usize, i, "{}", f.name);
            assert_eq!(FieldId::from_u16(i as u16), Some(f.id));
        }
        assert_eq!(FieldId::from_u16(FIELDS.len() as u16), None);
        assert_eq!(FieldId::ProcName.name(), "proc.name");
    }

    #[test]
    fn names_are_unique_and_classes_known() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(seen.insert(f.name), "duplicate {}", f.name);
            assert!(CLASSES.iter().any(|(c, _)| *c == f.class()), "{}", f.name);
        }
    }

    #[test]
    fn resolves_arguments() {
        let (f, a) = resolve("proc.aname", Some("2")).unwrap();
        assert_eq!((f.id, a), (FieldId::ProcAname, FieldArg::Index(2)));
        let (f, a) = resolve("evt.arg.flags", None).unwrap();
        assert_eq!((f.id, a), (FieldId::EvtArg, FieldArg::Key("flags".into())));
        let (f, a) = resolve("evt.arg", Some("0")).unwrap();
        assert_eq!((f.id, a), (FieldId::EvtArg, FieldArg::Index(0)));
        let (f, a) = resolve("container.mount.dest", Some("/var/run/docker.sock")).unwrap();
        assert_eq!(f.id, FieldId::ContainerMountDest);
        assert_eq!(a, FieldArg::Key("/var/run/docker.sock".into()));
        let (f, _) = resolve("fd.sip.name", None).unwrap();
        assert_eq!(f.ty, FieldType::CharBuf);
        assert_eq!(resolve("fd.sip", None).unwrap().0.ty, FieldType::IpAddr);
        assert_eq!(
            resolve("k8s.pod.label.app", None).unwrap().0.id,
            FieldId::K8sPodLabel
        );
    }

    #[test]
    fn rejects_bad_references() {
        assert_eq!(
            resolve("proc.nobody", None).unwrap_err(),
            FieldError::Unknown("proc.nobody".into())
        );
        assert!(matches!(
            resolve("evt.arg", None),
            Err(FieldError::MissingArg(_))
        ));
        assert!(matches!(
            resolve("proc.name", Some("1")),
            Err(FieldError::UnexpectedArg(_))
        ));
        assert!(matches!(
            resolve("proc.aname", Some("x")),
            Err(FieldError::BadIndex(..))
        ));
        assert!(matches!(
            resolve("evt.type.x", None),
            Err(FieldError::Unknown(_))
        ));
    }

    #[test]
    fn covers_fields_used_by_bundled_rules() {
        for name in [
            "proc.name",
            "fd.name",
            "proc.cmdline",
            "evt.type",
            "container.image.repository",
            "proc.pname",
            "user.name",
            "proc.aname",
            "user.loginuid",
            "user.uid",
            "proc.tty",
            "proc.exepath",
            "proc.args",
            "container.info",
            "proc.pcmdline",
            "container.id",
            "fd.directory",
            "evt.dir",
            "proc.pid",
            "fd.typechar",
            "fd.l4proto",
            "fd.type",
            "evt.res",
            "container.image.tag",
            "evt.rawres",
            "fd.rport",
            "fd.sport",
            "fd.lport",
            "fd.sip",
            "thread.cap_permitted",
            "fd.net",
            "container.name",
            "fd.sip.name",
            "k8s.ns.name",
            "fd.num",
            "proc.exe",
            "proc.cwd",
            "proc.pexe",
            "fd.ip",
            "fd.filename",
            "evt.num",
            "evt.args",
            "proc.env",
            "fd.snet",
            "user.loginname",
            "evt.is_open_read",
            "fd.name_changed",
            "fd.connected",
            "container.privileged",
            "thread.cap_effective",
            "group.name",
            "group.gid",
            "proc.vpid",
            "proc.sid",
            "fd.cip.name",
            "fd.nameraw",
            "proc.ppid",
            "fd.types",
            "evt.is_open_write",
            "evt.hostname",
            "proc.sname",
            "fd.rip.name",
            "fd.lip.name",
            "evt.buffer",
            "container.start_ts",
            "container.image",
            "proc.pexepath",
            "proc.is_vpgid_leader",
            "proc.exe_ino.mtime",
            "proc.exe_ino.ctime_duration_proc_start",
            "proc.exe_ino.ctime",
            "proc.duration",
            "proc.apid",
            "k8s.pod.name",
            "fd.sockfamily",
            "fd.rnet",
            "fd.rip",
            "fd.port",
            "fd.cnet",
            "fd.cip",
            "evt.is_open_exec",
            "container.mounts",
            "proc.is_exe_upper_layer",
            "proc.aexepath",
            "evt.plugininfo",
            "proc.vpgid.name",
            "proc.vpgid.exe",
            "proc.vpgid",
            "proc.ppid.duration",
            "proc.is_exe_from_memfd",
            "proc.exe_ino",
            "proc.aexe",
            "fd.cport",
            "container.host_network",
            "fd.lip",
        ] {
            assert!(by_name(name).is_some(), "{name}");
        }
    }
}
