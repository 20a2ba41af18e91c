//! Containers: the container id derived from a thread's cgroups (as libsinsp's container
//! engines do for docker, cri-o, containerd, podman and kubepods paths), and the container
//! metadata carried by the capture's container JSON events (live metadata: `container_runtime`).

use super::thread::{Container, Mount};

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

fn type_name(t: u64) -> &'static str {
    match t {
        0 => "docker",
        1 => "lxc",
        2 => "libvirt-lxc",
        3 => "mesos",
        4 => "rkt",
        5 => "custom",
        6 => "cri",
        7 => "containerd",
        8 => "cri-o",
        9 => "bpm",
        10 => "static",
        11 => "podman",
        _ => "",
    }
}

fn s(v: &serde_json::Value, k: &str) -> Vec<u8> {
    v.get(k)
        .and_then(|x| x.as_str())
        .map(|x| x.as_bytes().to_vec())
        .unwrap_or_default()
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
}
