//! Containers: the container id derived from a thread's cgroups (as libsinsp's container
//! engines do for docker, cri-o, containerd, podman and kubepods paths), and the container
//! metadata carried by the capture's container JSON events, read ([`parse_container_json`]) and
//! written ([`container_to_json`], what a recording of the live source stores for the metadata
//! `container_runtime` looked up).

use std::collections::HashSet;

use super::thread::{Container, Mount};
use super::State;

fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|c| c.is_ascii_hexdigit())
}

/// Finds a 64-hex container id in one cgroup path.
fn id_in_path(path: &[u8]) -> Option<&[u8]> {
    for comp in path.split(|c| *c == b'/') {
        let mut c = comp;
        for suffix in [&b".scope"[..]] {
            if let Some(s) = c.strip_suffix(suffix) {
                c = s;
            }
        }
        for prefix in [
            &b"docker-"[..],
            b"crio-",
            b"cri-containerd-",
            b"libpod-",
            b"containerd-",
        ] {
            if let Some(s) = c.strip_prefix(prefix) {
                c = s;
            }
        }
        if is_hex64(c) {
            return Some(c);
        }
    }
    None
}

/// The short (12-char) container id for a NUL-separated `subsys=path` cgroup list, or
/// `None` for a host process.
pub fn container_id_from_cgroups(cgroups: &[u8]) -> Option<&[u8]> {
    full_container_id_from_cgroups(cgroups).map(|id| &id[..12])
}

/// The whole (64 hex digits) container id of a cgroup list, as the runtimes name their state.
pub fn full_container_id_from_cgroups(cgroups: &[u8]) -> Option<&[u8]> {
    for entry in cgroups.split(|c| *c == 0) {
        let path = match memchr::memchr(b'=', entry) {
            Some(i) => &entry[i + 1..],
            None => entry,
        };
        if let Some(id) = id_in_path(path) {
            return Some(id);
        }
    }
    None
}

/// libsinsp's container types (`sinsp_container_type`), by their number in the JSON event.
const TYPE_NAMES: [&str; 12] = [
    "docker",
    "lxc",
    "libvirt-lxc",
    "mesos",
    "rkt",
    "custom",
    "cri",
    "containerd",
    "cri-o",
    "bpm",
    "static",
    "podman",
];

fn type_name(t: u64) -> &'static str {
    usize::try_from(t)
        .ok()
        .and_then(|i| TYPE_NAMES.get(i))
        .copied()
        .unwrap_or("")
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The container JSON event's payload for `c` (`{"container": {...}}`, the keys libsinsp's
/// `container_to_json` writes), so that [`parse_container_json`] gives `c` back. An unknown
/// type or privilege is left out, as it reads back as unknown. Non-UTF-8 bytes (the runtimes
/// write JSON, so only a damaged file has them) become U+FFFD.
pub fn container_to_json(c: &Container) -> Vec<u8> {
    use serde_json::{json, Map, Value};
    let mounts: Vec<Value> = c
        .mounts
        .iter()
        .map(|m| {
            json!({
                "Source": lossy(&m.source),
                "Destination": lossy(&m.dest),
                "Mode": lossy(&m.mode),
                "RW": m.rw,
                "Propagation": lossy(&m.propagation),
            })
        })
        .collect();
    let labels = if c.labels.is_empty() {
        Value::Null
    } else {
        Value::Object(
            c.labels
                .iter()
                .map(|(k, v)| (lossy(k), Value::String(lossy(v))))
                .collect::<Map<String, Value>>(),
        )
    };
    let mut body = json!({
        "Mounts": mounts,
        "id": lossy(&c.id),
        "full_id": lossy(&c.full_id),
        "name": lossy(&c.name),
        "image": lossy(&c.image),
        "imageid": lossy(&c.image_id),
        "imagerepo": lossy(&c.image_repository),
        "imagetag": lossy(&c.image_tag),
        "imagedigest": lossy(&c.image_digest),
        "ip": lossy(&c.ip),
        "created_time": c.created_time,
        "labels": labels,
        "env": [],
        "port_mappings": [],
        "is_pod_sandbox": false,
    });
    if let Value::Object(fields) = &mut body {
        if let Some(t) = TYPE_NAMES.iter().position(|t| *t == c.type_name) {
            fields.insert("type".into(), json!(t));
        }
        if let Some(p) = c.privileged {
            fields.insert("privileged".into(), json!(p));
        }
    }
    json!({ "container": body }).to_string().into_bytes()
}

fn s(v: &serde_json::Value, k: &str) -> Vec<u8> {
    v.get(k)
        .and_then(|x| x.as_str())
        .map(|x| x.as_bytes().to_vec())
        .unwrap_or_default()
}

/// For a recording of a live source: which containers the recording already described. Live
/// metadata comes from the runtime's files, which a replay cannot read, so the recorder writes
/// each container's JSON event before the first event whose thread the state found it for.
#[derive(Debug, Default)]
pub struct RecordedContainers {
    written: HashSet<Vec<u8>>,
}

impl RecordedContainers {
    /// The container of thread `tid` when `state` knows its metadata and the recording does
    /// not carry it yet (it is then counted as carried). Called after `state` processed the
    /// event of `tid` and before that event is written.
    pub fn unrecorded<'s>(&mut self, state: &'s State, tid: i64) -> Option<&'s Container> {
        let id = &state.thread(tid)?.container_id;
        if id.is_empty() || self.written.contains(id) {
            return None;
        }
        let c = state.containers.get(id)?;
        self.written.insert(id.clone());
        Some(c)
    }
}

/// Parses a container JSON event (`{"container": {...}}`).
pub fn parse_container_json(json: &[u8]) -> Option<Container> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let c = v.get("container")?;
    let mut out = Container {
        id: s(c, "id"),
        full_id: s(c, "full_id"),
        name: s(c, "name"),
        image: s(c, "image"),
        image_id: s(c, "imageid"),
        image_repository: s(c, "imagerepo"),
        image_tag: s(c, "imagetag"),
        image_digest: s(c, "imagedigest"),
        type_name: type_name(c.get("type").and_then(|t| t.as_u64()).unwrap_or(u64::MAX)),
        privileged: c.get("privileged").and_then(|p| p.as_bool()),
        ip: s(c, "ip"),
        created_time: c.get("created_time").and_then(|t| t.as_i64()).unwrap_or(0),
        mounts: Vec::new(),
        labels: Vec::new(),
    };
    if let Some(ms) = c.get("Mounts").and_then(|m| m.as_array()) {
        for m in ms {
            out.mounts.push(Mount {
                source: s(m, "Source"),
                dest: s(m, "Destination"),
                mode: s(m, "Mode"),
                rw: m.get("RW").and_then(|x| x.as_bool()).unwrap_or(false),
                propagation: s(m, "Propagation"),
            });
        }
    }
    if let Some(ls) = c.get("labels").and_then(|m| m.as_object()) {
        for (k, v) in ls {
            if let Some(v) = v.as_str() {
                out.labels
                    .push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_and_systemd_cgroup_paths() {
        let id = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a48899412";
        let cg = format!("cpuset=/docker/{id}\0cpu=/docker/{id}\0");
        assert_eq!(
            container_id_from_cgroups(cg.as_bytes()),
            Some(&b"697956520d89"[..])
        );
        let cg = format!("0::/system.slice/docker-{id}.scope\0");
        assert_eq!(
            container_id_from_cgroups(cg.as_bytes()),
            Some(&b"697956520d89"[..])
        );
        let cg = format!("cpu=/kubepods/besteffort/pod1234/crio-{id}\0");
        assert_eq!(
            container_id_from_cgroups(cg.as_bytes()),
            Some(&b"697956520d89"[..])
        );
        assert_eq!(
            container_id_from_cgroups(b"cpuset=/\0cpu=/user.slice\0"),
            None
        );
    }

    #[test]
    fn container_json() {
        let j = br#"{"container":{"Mounts":[{"Source":"/var/run/docker.sock","Destination":"/host/var/run/docker.sock","Mode":"","RW":true,"Propagation":"rprivate"}],"id":"9dbcbd0c435f","image":"nginx:latest","imagerepo":"nginx","imagetag":"latest","name":"x","privileged":true,"type":0}}"#;
        let c = parse_container_json(j).unwrap();
        assert_eq!(c.id, b"9dbcbd0c435f");
        assert_eq!(c.image_repository, b"nginx");
        assert_eq!(c.privileged, Some(true));
        assert_eq!(c.type_name, "docker");
        assert_eq!(c.mounts[0].dest, b"/host/var/run/docker.sock");
        assert!(parse_container_json(b"not json").is_none());
    }

    fn podman_container() -> Container {
        Container {
            id: b"3f1e2d3c4b5a".to_vec(),
            full_id: b"3f1e2d3c4b5a6f7e8d9c0b1a2f5f7a2c1e9d3b4a6f8e0c1b2d3a4f5e6d7c8b9a".to_vec(),
            name: b"falco-demo-privileged".to_vec(),
            image: b"localhost/falco-demo:latest".to_vec(),
            image_id: b"0123abcd".to_vec(),
            image_repository: b"localhost/falco-demo".to_vec(),
            image_tag: b"latest".to_vec(),
            image_digest: b"sha256:feed".to_vec(),
            type_name: "podman",
            privileged: Some(true),
            ip: b"10.88.0.2".to_vec(),
            created_time: 1_764_500_000,
            mounts: vec![
                Mount {
                    source: b"/etc".to_vec(),
                    dest: b"/host/etc".to_vec(),
                    mode: b"z".to_vec(),
                    rw: false,
                    propagation: b"rprivate".to_vec(),
                },
                Mount {
                    source: b"/var/run/docker.sock".to_vec(),
                    dest: b"/var/run/docker.sock".to_vec(),
                    mode: Vec::new(),
                    rw: true,
                    propagation: b"rslave".to_vec(),
                },
            ],
            // Sorted by key: the JSON object keeps its keys sorted.
            labels: vec![
                (b"app".to_vec(), b"demo".to_vec()),
                (b"io.podman.x".to_vec(), b"quoted \"value\"".to_vec()),
            ],
        }
    }

    #[test]
    fn container_json_round_trip() {
        let c = podman_container();
        let json = container_to_json(&c);
        assert_eq!(parse_container_json(&json), Some(c.clone()));
        // Unknown privilege and type, no labels or mounts: still the same container back.
        let bare = Container {
            id: b"5f7a2c1e9d3b".to_vec(),
            ..Container::default()
        };
        assert_eq!(parse_container_json(&container_to_json(&bare)), Some(bare));
        let unprivileged = Container {
            privileged: Some(false),
            type_name: "docker",
            ..c
        };
        let json = container_to_json(&unprivileged);
        assert!(String::from_utf8_lossy(&json).contains(r#""privileged":false"#));
        assert_eq!(parse_container_json(&json), Some(unprivileged));
    }

    #[test]
    fn container_json_writes_libsinsp_keys() {
        let json = container_to_json(&podman_container());
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let c = &v["container"];
        assert_eq!(c["type"], 11);
        assert_eq!(c["imagerepo"], "localhost/falco-demo");
        assert_eq!(c["Mounts"][0]["Source"], "/etc");
        assert_eq!(c["Mounts"][0]["RW"], false);
        assert_eq!(c["labels"]["app"], "demo");
        for key in ["env", "port_mappings", "is_pod_sandbox", "created_time"] {
            assert!(c.get(key).is_some(), "{key} missing");
        }
    }
}
