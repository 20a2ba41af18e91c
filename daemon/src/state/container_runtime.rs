//! Live container metadata from the container runtimes' on-disk state: when the live source
//! meets a container id it has no metadata for, [`ContainerResolver`] reads what podman or
//! docker wrote for that container (name, image, privileged flag, bind mounts) and hands the
//! state a [`Container`], the way libsinsp's container engines fill `container.*` for Falco.
//!
//! - podman (containers/storage): `overlay-containers/<id>/userdata/config.json` (the OCI
//!   runtime spec: the privileged annotation and the mounts), `overlay-containers/containers.json`
//!   (names, image id, image name in the metadata) and `overlay-images/images.json` (image
//!   names, when the container's metadata has none).
//! - docker: `containers/<id>/config.v2.json` (name, image, mount points) and
//!   `containers/<id>/hostconfig.json` (privileged).
//!
//! The runtime may start the container's first process before or just after it writes these
//! files, so a miss is retried on later events of the container for a few seconds, then only
//! rarely; nothing is cached for a container that was never found. Reads are a few small files
//! per container, done once it is found. A malformed file is an error naming the file; errors
//! and give-ups are counted and logged once per container.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::thread::{Container, Mount};

/// Where the runtimes keep their state.
#[derive(Clone, Debug)]
pub struct RuntimeRoots {
    /// containers/storage's graph root (podman as root).
    pub podman: PathBuf,
    /// docker's data root.
    pub docker: PathBuf,
}

impl Default for RuntimeRoots {
    fn default() -> Self {
        RuntimeRoots {
            podman: PathBuf::from("/var/lib/containers/storage"),
            docker: PathBuf::from("/var/lib/docker"),
        }
    }
}

/// Why a container's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{file}: malformed JSON: {source}")]
    Malformed {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {what}")]
    Unexpected { file: PathBuf, what: &'static str },
}

/// Largest runtime file read (the files are a few KB; containers.json grows with the number
/// of containers).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads and parses one JSON file; `Ok(None)` when it does not exist.
fn read_json(file: &Path) -> Result<Option<Value>, LookupError> {
    let io_err = |source| LookupError::Io {
        file: file.to_path_buf(),
        source,
    };
    let meta = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(LookupError::Unexpected {
            file: file.to_path_buf(),
            what: "larger than 16 MiB",
        });
    }
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| LookupError::Malformed {
            file: file.to_path_buf(),
            source,
        })
}

/// A runtime's per-container config: `Ok(None)` when the runtime has no such file (not its
/// container), an error when it is no JSON object (`what` says what it should be); with the
/// container's identity filled in.
fn read_container_config(
    file: &Path,
    what: &'static str,
    full_id: &str,
    type_name: &'static str,
) -> Result<Option<(Value, Container)>, LookupError> {
    let Some(config) = read_json(file)? else {
        return Ok(None);
    };
    if !config.is_object() {
        return Err(LookupError::Unexpected {
            file: file.to_path_buf(),
            what,
        });
    }
    let c = Container {
        id: short_id(full_id),
        full_id: full_id.as_bytes().to_vec(),
        type_name,
        ..Container::default()
    };
    Ok(Some((config, c)))
}

/// One of containers/storage's lists (containers.json, images.json): `Ok(None)` when absent,
/// an error when it is no JSON array (`what` says of what).
fn read_json_array(file: &Path, what: &'static str) -> Result<Option<Vec<Value>>, LookupError> {
    match read_json(file)? {
        None => Ok(None),
        Some(Value::Array(entries)) => Ok(Some(entries)),
        Some(_) => Err(LookupError::Unexpected {
            file: file.to_path_buf(),
            what,
        }),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Seconds since the epoch of an RFC 3339 time (what both runtimes write), 0 if unparsable.
fn rfc3339_secs(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// Splits an image reference into repository, tag and digest as Falco shows them
/// (`registry:5000/ns/img:tag@sha256:..` → `registry:5000/ns/img`, `tag`, `sha256:..`).
pub fn split_image(image: &str) -> (&str, &str, &str) {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d),
        None => (image, ""),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..], digest),
        None => (name, "", digest),
    }
}

fn set_image(c: &mut Container, image: &str) {
    let (repo, tag, digest) = split_image(image);
    c.image = image.as_bytes().to_vec();
    c.image_repository = repo.as_bytes().to_vec();
    c.image_tag = tag.as_bytes().to_vec();
    c.image_digest = digest.as_bytes().to_vec();
}

fn short_id(full_id: &str) -> Vec<u8> {
    full_id.as_bytes()[..full_id.len().min(12)].to_vec()
}

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

/// The user's bind mounts of a podman container, from the OCI spec's `mounts`: podman's own
/// (/etc/hosts, /etc/resolv.conf, /run/.containerenv, /dev/shm: files below its storage) and
/// the kernel file systems (proc, sysfs, devpts, ...) are not the container's volumes, and
/// Falco (through podman's inspect) does not list them either.
fn podman_mounts(spec: &Value, storage_roots: &[&Path]) -> Vec<Mount> {
    let mut out = Vec::new();
    let Some(mounts) = spec.get("mounts").and_then(Value::as_array) else {
        return out;
    };
    for m in mounts {
        let options: Vec<&str> = m
            .get("options")
            .and_then(Value::as_array)
            .map(|o| o.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let is_bind = str_of(m, "type") == "bind" || options.iter().any(|o| o.ends_with("bind"));
        let source = str_of(m, "source");
        if !is_bind
            || !source.starts_with('/')
            || storage_roots
                .iter()
                .any(|root| Path::new(source).starts_with(root))
        {
            continue;
        }
        out.push(Mount {
            source: source.as_bytes().to_vec(),
            dest: str_of(m, "destination").as_bytes().to_vec(),
            mode: Vec::new(),
            rw: !options.contains(&"ro"),
            propagation: options
                .iter()
                .find(|o| PROPAGATIONS.contains(o))
                .map(|p| p.as_bytes().to_vec())
                .unwrap_or_default(),
        });
    }
    out
}

/// A podman container's metadata, `Ok(None)` when podman has no config for `full_id`.
pub fn lookup_podman(root: &Path, full_id: &str) -> Result<Option<Container>, LookupError> {
    let containers_dir = root.join("overlay-containers");
    let config_file = containers_dir
        .join(full_id)
        .join("userdata")
        .join("config.json");
    let Some((spec, mut c)) = read_container_config(
        &config_file,
        "not a JSON object (an OCI runtime spec)",
        full_id,
        "podman",
    )?
    else {
        return Ok(None);
    };
    let annotations = spec.get("annotations");
    let annotation = |k: &str| annotations.map_or("", |a| str_of(a, k));
    c.privileged =
        Some(annotation("io.podman.annotations.privileged").eq_ignore_ascii_case("true"));
    let run_storage = Path::new("/run/containers/storage");
    let var_run_storage = Path::new("/var/run/containers/storage");
    c.mounts = podman_mounts(&spec, &[root, run_storage, var_run_storage]);

    // Name, image and creation time: containers/storage's container list.
    let list_file = containers_dir.join("containers.json");
    let mut image_id = String::new();
    if let Some(entries) = read_json_array(&list_file, "not a JSON array of containers")? {
        if let Some(entry) = entries.iter().find(|e| str_of(e, "id") == full_id) {
            if let Some(name) = entry
                .get("names")
                .and_then(Value::as_array)
                .and_then(|n| n.first())
                .and_then(Value::as_str)
            {
                c.name = name.as_bytes().to_vec();
            }
            image_id = str_of(entry, "image").to_string();
            c.created_time = rfc3339_secs(str_of(entry, "created"));
            // podman keeps its own metadata as a JSON string inside the entry.
            let metadata: Option<Value> = entry
                .get("metadata")
                .and_then(Value::as_str)
                .and_then(|m| serde_json::from_str(m).ok());
            if let Some(md) = metadata {
                if c.name.is_empty() {
                    c.name = str_of(&md, "name").as_bytes().to_vec();
                }
                let image_name = str_of(&md, "image-name");
                if !image_name.is_empty() {
                    set_image(&mut c, image_name);
                }
            }
        }
    }
    c.image_id = image_id.as_bytes().to_vec();
    if c.image.is_empty() && !image_id.is_empty() {
        let images_file = root.join("overlay-images").join("images.json");
        if let Some(entries) = read_json_array(&images_file, "not a JSON array of images")? {
            let name = entries
                .iter()
                .find(|e| str_of(e, "id") == image_id)
                .and_then(|e| e.get("names")?.as_array()?.first()?.as_str());
            if let Some(name) = name {
                set_image(&mut c, name);
            }
        }
    }
    Ok(Some(c))
}

/// A docker container's metadata, `Ok(None)` when docker has no config for `full_id`.
pub fn lookup_docker(root: &Path, full_id: &str) -> Result<Option<Container>, LookupError> {
    let dir = root.join("containers").join(full_id);
    let config_file = dir.join("config.v2.json");
    let Some((config, mut c)) = read_container_config(
        &config_file,
        "not a JSON object (docker's container config)",
        full_id,
        "docker",
    )?
    else {
        return Ok(None);
    };
    let name = str_of(&config, "Name");
    c.name = name.strip_prefix('/').unwrap_or(name).as_bytes().to_vec();
    c.created_time = rfc3339_secs(str_of(&config, "Created"));
    c.image_id = str_of(&config, "Image")
        .trim_start_matches("sha256:")
        .as_bytes()
        .to_vec();
    if let Some(cfg) = config.get("Config") {
        set_image(&mut c, str_of(cfg, "Image"));
        if let Some(labels) = cfg.get("Labels").and_then(Value::as_object) {
            for (k, v) in labels {
                if let Some(v) = v.as_str() {
                    c.labels
                        .push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
                }
            }
        }
    }
    if let Some(points) = config.get("MountPoints").and_then(Value::as_object) {
        for m in points.values() {
            c.mounts.push(Mount {
                source: str_of(m, "Source").as_bytes().to_vec(),
                dest: str_of(m, "Destination").as_bytes().to_vec(),
                mode: str_of(m, "Relabel").as_bytes().to_vec(),
                rw: m.get("RW").and_then(Value::as_bool).unwrap_or(false),
                propagation: str_of(m, "Propagation").as_bytes().to_vec(),
            });
        }
        // docker inspect lists mounts by destination.
        c.mounts.sort_by(|a, b| a.dest.cmp(&b.dest));
    }
    let host_file = dir.join("hostconfig.json");
    c.privileged = read_json(&host_file)?.map(|host| {
        host.get("Privileged")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    });
    Ok(Some(c))
}

/// Looks `full_id` (64 hex digits) up in podman's, then docker's state.
pub fn lookup(roots: &RuntimeRoots, full_id: &str) -> Result<Option<Container>, LookupError> {
    if full_id.len() != 64 || !full_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    if let Some(c) = lookup_podman(&roots.podman, full_id)? {
        return Ok(Some(c));
    }
    lookup_docker(&roots.docker, full_id)
}

/// Retry policy: the first attempts follow each other quickly (the runtime is writing its
/// files while the container starts), later ones are rare.
const FAST_ATTEMPTS: u32 = 20;
const FAST_RETRY_NS: u64 = 250_000_000;
const SLOW_RETRY_NS: u64 = 30_000_000_000;
/// Containers with a lookup pending at once; beyond it the oldest entries are forgotten
/// (they are looked up again from scratch on their next event).
const MAX_PENDING: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Pending {
    attempts: u32,
    next_try_ns: u64,
    reported: bool,
}

/// Counters for the metrics and the shutdown summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolverStats {
    pub found: u64,
    pub attempts: u64,
    /// Containers still unknown after the fast retries.
    pub not_found: u64,
    /// Lookups that failed on an unreadable or malformed file.
    pub errors: u64,
}

/// Finds metadata for the live source's containers, with retries and without blocking for
/// long (a lookup is a few small file reads).
#[derive(Debug)]
pub struct ContainerResolver {
    roots: RuntimeRoots,
    pending: HashMap<Vec<u8>, Pending>,
    pub stats: ResolverStats,
}

impl ContainerResolver {
    pub fn new(roots: RuntimeRoots) -> ContainerResolver {
        ContainerResolver {
            roots,
            pending: HashMap::new(),
            stats: ResolverStats::default(),
        }
    }

    /// Metadata for the container `full_id` (64 hex digits) seen at `now_ns`, or `None` when
    /// it is not (yet) known or it is not time to look again.
    pub fn resolve(&mut self, full_id: &[u8], now_ns: u64) -> Option<Container> {
        let Ok(id) = std::str::from_utf8(full_id) else {
            return None;
        };
        if !self.pending.contains_key(full_id) {
            if self.pending.len() >= MAX_PENDING {
                self.forget_oldest();
            }
            self.pending.insert(
                full_id.to_vec(),
                Pending {
                    attempts: 0,
                    next_try_ns: 0,
                    reported: false,
                },
            );
        }
        let entry = self.pending.get_mut(full_id)?;
        if entry.attempts > 0 && now_ns < entry.next_try_ns {
            return None;
        }
        entry.attempts += 1;
        entry.next_try_ns = now_ns.saturating_add(if entry.attempts < FAST_ATTEMPTS {
            FAST_RETRY_NS
        } else {
            SLOW_RETRY_NS
        });
        self.stats.attempts += 1;
        match lookup(&self.roots, id) {
            Ok(Some(c)) => {
                self.pending.remove(full_id);
                self.stats.found += 1;
                Some(c)
            }
            Ok(None) => {
                if entry.attempts == FAST_ATTEMPTS {
                    self.stats.not_found += 1;
                    if !entry.reported {
                        entry.reported = true;
                        crate::logger::warning(&format!(
                            "container {id}: no metadata in {} nor {} after {FAST_ATTEMPTS} attempts; container.name, image, privileged and mounts stay <NA> (looking again every {} s)",
                            self.roots.podman.display(),
                            self.roots.docker.display(),
                            SLOW_RETRY_NS / 1_000_000_000
                        ));
                    }
                }
                None
            }
            Err(e) => {
                self.stats.errors += 1;
                if !entry.reported {
                    entry.reported = true;
                    crate::logger::warning(&format!("container {id}: {e}"));
                }
                None
            }
        }
    }

    fn forget_oldest(&mut self) {
        if let Some(oldest) = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.next_try_ns)
            .map(|(k, _)| k.clone())
        {
            self.pending.remove(&oldest);
        }
    }

    /// Containers with a lookup still pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests;
