use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

const PODMAN_ID: &str = "3f1c2a9be0d94c7a8b5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4";
const DOCKER_ID: &str = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a48899412";
const IMAGE_ID: &str = "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";

/// A fresh directory below the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "falco-container-runtime-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    fn roots(&self) -> RuntimeRoots {
        RuntimeRoots {
            podman: self.0.join("containers/storage"),
            docker: self.0.join("docker"),
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An OCI spec as podman 4.3 writes it: its own files bind-mounted from its storage, the
/// kernel file systems, and the user's `-v /etc:/host/etc`.
fn podman_spec(storage: &Path, privileged: bool) -> String {
    let userdata = storage.join(format!("overlay-containers/{PODMAN_ID}/userdata"));
    let userdata = userdata.display();
    let annotation = if privileged {
        r#""io.podman.annotations.privileged": "TRUE","#
    } else {
        ""
    };
    format!(
        r#"{{
  "ociVersion": "1.0.2-dev",
  "process": {{"args": ["sh"], "cwd": "/"}},
  "mounts": [
    {{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid","noexec","nodev"]}},
    {{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"]}},
    {{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid","noexec","nodev","ro"]}},
    {{"destination": "/host/etc", "type": "bind", "source": "/etc", "options": ["rbind","rprivate"]}},
    {{"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["ro","rbind","rslave"]}},
    {{"destination": "/etc/hosts", "type": "bind", "source": "{userdata}/hosts", "options": ["bind","rprivate"]}},
    {{"destination": "/run/.containerenv", "type": "bind", "source": "/run/containers/storage/overlay-containers/{PODMAN_ID}/userdata/.containerenv", "options": ["bind","rprivate"]}},
    {{"destination": "/dev/shm", "type": "bind", "source": "{userdata}/shm", "options": ["bind","rprivate"]}}
  ],
  "annotations": {{
    {annotation}
    "io.container.manager": "libpod",
    "org.opencontainers.image.stopSignal": "15"
  }}
}}"#
    )
}

fn podman_fixture(dir: &TempDir, privileged: bool, with_image_name: bool) {
    let storage = dir.roots().podman;
    dir.write(
        &format!("containers/storage/overlay-containers/{PODMAN_ID}/userdata/config.json"),
        &podman_spec(&storage, privileged),
    );
    let metadata = if with_image_name {
        r#"{\"image-name\":\"localhost/falco-demo:1.0\",\"image-id\":\"x\",\"name\":\"md-name\",\"created-at\":1764489600}"#
    } else {
        r#"{\"name\":\"md-name\"}"#
    };
    dir.write(
        "containers/storage/overlay-containers/containers.json",
        &format!(
            r#"[{{"id":"0000000000000000000000000000000000000000000000000000000000000000","names":["other"],"image":"zz"}},
{{"id":"{PODMAN_ID}","names":["demo_priv"],"image":"{IMAGE_ID}","layer":"l1","metadata":"{metadata}","created":"2026-11-30T08:00:00.5Z","flags":{{"MountLabel":""}}}}]"#
        ),
    );
    dir.write(
        "containers/storage/overlay-images/images.json",
        &format!(
            r#"[{{"id":"{IMAGE_ID}","names":["localhost/falco-demo-img:latest"],"layer":"l0"}}]"#
        ),
    );
}

#[test]
fn podman_privileged_container_with_bind_mounts() {
    let dir = TempDir::new();
    podman_fixture(&dir, true, true);
    let c = lookup(&dir.roots(), PODMAN_ID).unwrap().unwrap();
    assert_eq!(c.id, PODMAN_ID.as_bytes()[..12].to_vec());
    assert_eq!(c.full_id, PODMAN_ID.as_bytes());
    assert_eq!(c.type_name, "podman");
    assert_eq!(c.privileged, Some(true));
    assert_eq!(c.name, b"demo_priv");
    assert_eq!(c.image, b"localhost/falco-demo:1.0");
    assert_eq!(c.image_repository, b"localhost/falco-demo");
    assert_eq!(c.image_tag, b"1.0");
    assert_eq!(c.image_id, IMAGE_ID.as_bytes());
    assert_eq!(c.created_time, 1_796_025_600);
    // Only the user's binds: not podman's own files nor the kernel file systems.
    let mounts: Vec<(String, String, bool, String)> = c
        .mounts
        .iter()
        .map(|m| {
            (
                String::from_utf8_lossy(&m.source).into_owned(),
                String::from_utf8_lossy(&m.dest).into_owned(),
                m.rw,
                String::from_utf8_lossy(&m.propagation).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        mounts,
        vec![
            ("/etc".into(), "/host/etc".into(), true, "rprivate".into()),
            ("/srv/data".into(), "/data".into(), false, "rslave".into()),
        ]
    );
}

#[test]
fn podman_unprivileged_container_image_name_from_images_json() {
    let dir = TempDir::new();
    podman_fixture(&dir, false, false);
    let c = lookup(&dir.roots(), PODMAN_ID).unwrap().unwrap();
    assert_eq!(c.privileged, Some(false));
    assert_eq!(c.name, b"demo_priv");
    assert_eq!(c.image, b"localhost/falco-demo-img:latest");
    assert_eq!(c.image_repository, b"localhost/falco-demo-img");
    assert_eq!(c.image_tag, b"latest");
}

#[test]
fn podman_config_without_the_container_list() {
    let dir = TempDir::new();
    let storage = dir.roots().podman;
    dir.write(
        &format!("containers/storage/overlay-containers/{PODMAN_ID}/userdata/config.json"),
        &podman_spec(&storage, true),
    );
    let c = lookup(&dir.roots(), PODMAN_ID).unwrap().unwrap();
    assert_eq!(c.privileged, Some(true));
    assert!(c.name.is_empty() && c.image.is_empty());
    assert_eq!(c.mounts.len(), 2);
}

fn docker_fixture(dir: &TempDir, privileged: bool) {
    dir.write(
        &format!("docker/containers/{DOCKER_ID}/config.v2.json"),
        &format!(
            r#"{{"ID":"{DOCKER_ID}","Created":"2026-11-30T08:00:00.123456789Z","Name":"/web_1",
"Image":"sha256:{IMAGE_ID}",
"Config":{{"Image":"registry.local:5000/team/nginx:1.25","Labels":{{"app":"web","tier":"front"}}}},
"MountPoints":{{
 "/var/run/docker.sock":{{"Source":"/var/run/docker.sock","Destination":"/var/run/docker.sock","RW":true,"Name":"","Driver":"","Type":"bind","Relabel":"","Propagation":"rprivate"}},
 "/cache":{{"Source":"/var/lib/docker/volumes/c/_data","Destination":"/cache","RW":false,"Name":"c","Driver":"local","Type":"volume","Relabel":"z","Propagation":""}}
}}}}"#
        ),
    );
    dir.write(
        &format!("docker/containers/{DOCKER_ID}/hostconfig.json"),
        &format!(
            r#"{{"Binds":["/var/run/docker.sock:/var/run/docker.sock"],"Privileged":{privileged}}}"#
        ),
    );
}

#[test]
fn docker_container() {
    let dir = TempDir::new();
    docker_fixture(&dir, true);
    let c = lookup(&dir.roots(), DOCKER_ID).unwrap().unwrap();
    assert_eq!(c.type_name, "docker");
    assert_eq!(c.id, b"697956520d89");
    assert_eq!(c.name, b"web_1");
    assert_eq!(c.image, b"registry.local:5000/team/nginx:1.25");
    assert_eq!(c.image_repository, b"registry.local:5000/team/nginx");
    assert_eq!(c.image_tag, b"1.25");
    assert_eq!(c.image_id, IMAGE_ID.as_bytes());
    assert_eq!(c.privileged, Some(true));
    assert_eq!(c.created_time, 1_796_025_600);
    assert_eq!(c.labels.len(), 2);
    assert_eq!(c.mounts.len(), 2);
    assert_eq!(c.mounts[0].dest, b"/cache");
    assert_eq!(c.mounts[0].mode, b"z");
    assert!(!c.mounts[0].rw);
    assert_eq!(c.mounts[1].source, b"/var/run/docker.sock");
    assert!(c.mounts[1].rw);
    assert_eq!(c.mounts[1].propagation, b"rprivate");

    let dir = TempDir::new();
    docker_fixture(&dir, false);
    let c = lookup(&dir.roots(), DOCKER_ID).unwrap().unwrap();
    assert_eq!(c.privileged, Some(false));
    // Without hostconfig.json the flag is unknown, not false.
    fs::remove_file(
        dir.roots()
            .docker
            .join(format!("containers/{DOCKER_ID}/hostconfig.json")),
    )
    .unwrap();
    let c = lookup(&dir.roots(), DOCKER_ID).unwrap().unwrap();
    assert_eq!(c.privileged, None);
}

#[test]
fn missing_files_and_bad_ids_are_no_metadata() {
    let dir = TempDir::new();
    assert!(lookup(&dir.roots(), PODMAN_ID).unwrap().is_none());
    assert!(lookup(&dir.roots(), "../../etc").unwrap().is_none());
    assert!(lookup(&dir.roots(), &PODMAN_ID[..12]).unwrap().is_none());
    podman_fixture(&dir, true, true);
    assert!(lookup(&dir.roots(), DOCKER_ID).unwrap().is_none());
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let dir = TempDir::new();
    let rel = format!("containers/storage/overlay-containers/{PODMAN_ID}/userdata/config.json");
    dir.write(&rel, "{\"mounts\": [");
    let e = lookup(&dir.roots(), PODMAN_ID).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&rel) && msg.contains("malformed JSON"),
        "{msg}"
    );

    dir.write(&rel, "[1, 2]");
    let msg = lookup(&dir.roots(), PODMAN_ID).unwrap_err().to_string();
    assert!(
        msg.contains("config.json") && msg.contains("not a JSON object"),
        "{msg}"
    );

    podman_fixture(&dir, true, true);
    dir.write(
        "containers/storage/overlay-containers/containers.json",
        "{}",
    );
    let msg = lookup(&dir.roots(), PODMAN_ID).unwrap_err().to_string();
    assert!(
        msg.contains("containers.json") && msg.contains("array"),
        "{msg}"
    );

    let dir = TempDir::new();
    docker_fixture(&dir, true);
    dir.write(
        &format!("docker/containers/{DOCKER_ID}/hostconfig.json"),
        "Privileged: yes",
    );
    let msg = lookup(&dir.roots(), DOCKER_ID).unwrap_err().to_string();
    assert!(
        msg.contains("hostconfig.json") && msg.contains("line 1 column 1"),
        "{msg}"
    );
}

#[test]
fn image_references() {
    assert_eq!(split_image("busybox"), ("busybox", "", ""));
    assert_eq!(split_image("busybox:1.36"), ("busybox", "1.36", ""));
    assert_eq!(
        split_image("localhost:5000/a/b:v2@sha256:abc"),
        ("localhost:5000/a/b", "v2", "sha256:abc")
    );
    assert_eq!(
        split_image("localhost:5000/a/b"),
        ("localhost:5000/a/b", "", "")
    );
    assert_eq!(split_image("img@sha256:abc"), ("img", "", "sha256:abc"));
    assert_eq!(split_image(""), ("", "", ""));
}

const MS: u64 = 1_000_000;

#[test]
fn resolver_retries_a_miss_until_the_runtime_wrote_its_files() {
    let dir = TempDir::new();
    let mut r = ContainerResolver::new(dir.roots());
    let id = PODMAN_ID.as_bytes();
    assert!(r.resolve(id, 1_000 * MS).is_none());
    assert_eq!(r.stats.attempts, 1);
    // Not looked up again before the retry interval...
    assert!(r.resolve(id, 1_100 * MS).is_none());
    assert_eq!(r.stats.attempts, 1);
    // ...then again, and found once the files exist.
    podman_fixture(&dir, true, true);
    let c = r.resolve(id, 1_300 * MS).unwrap();
    assert_eq!(c.name, b"demo_priv");
    assert_eq!(r.stats.attempts, 2);
    assert_eq!(r.stats.found, 1);
    assert_eq!(r.pending(), 0);
}

#[test]
fn resolver_gives_up_quickly_but_not_forever() {
    let dir = TempDir::new();
    let mut r = ContainerResolver::new(dir.roots());
    let id = DOCKER_ID.as_bytes();
    let mut now = 0;
    for _ in 0..FAST_ATTEMPTS {
        assert!(r.resolve(id, now).is_none());
        now += FAST_RETRY_NS;
    }
    assert_eq!(r.stats.attempts, u64::from(FAST_ATTEMPTS));
    assert_eq!(r.stats.not_found, 1);
    // After the fast attempts: nothing for a while, even if the files appear...
    docker_fixture(&dir, false);
    assert!(r.resolve(id, now + FAST_RETRY_NS).is_none());
    assert_eq!(r.stats.attempts, u64::from(FAST_ATTEMPTS));
    // ...but found at the next slow retry.
    let c = r.resolve(id, now + SLOW_RETRY_NS).unwrap();
    assert_eq!(c.name, b"web_1");
    assert_eq!(r.stats.not_found, 1);
}

#[test]
fn resolver_counts_errors_and_keeps_going() {
    let dir = TempDir::new();
    dir.write(
        &format!("docker/containers/{DOCKER_ID}/config.v2.json"),
        "not json",
    );
    let mut r = ContainerResolver::new(dir.roots());
    let id = DOCKER_ID.as_bytes();
    assert!(r.resolve(id, 0).is_none());
    assert!(r.resolve(id, FAST_RETRY_NS).is_none());
    assert_eq!(r.stats.errors, 2);
    docker_fixture(&dir, true);
    assert!(r.resolve(id, 2 * FAST_RETRY_NS).is_some());
    // Not valid UTF-8 / not an id: never a panic, no lookup.
    assert!(r.resolve(&[0xff; 64], 0).is_none());
}

#[test]
fn resolver_pending_table_is_bounded() {
    let dir = TempDir::new();
    let mut r = ContainerResolver::new(dir.roots());
    for i in 0..(MAX_PENDING + 10) {
        let id = format!("{i:064x}");
        assert!(r.resolve(id.as_bytes(), i as u64).is_none());
    }
    assert_eq!(r.pending(), MAX_PENDING);
}

/// `sh`, tid 500, in the fixture's libpod container (as its cgroup names it), as the live
/// source first sees a container's process.
fn podman_container_shell() -> crate::state::Thread {
    let cgroups = format!("cpu=/machine.slice/libpod-{PODMAN_ID}.scope/container\0");
    crate::state::Thread {
        tid: 500,
        pid: 500,
        ptid: 1,
        comm: b"sh".to_vec(),
        cgroups: cgroups.into_bytes(),
        container_id: PODMAN_ID.as_bytes()[..12].to_vec(),
        last_fd: -1,
        ..crate::state::Thread::default()
    }
}

/// The live path end to end: a thread in a libpod cgroup gets its container's metadata from
/// the runtime's files on its next event, and the container fields show it.
#[test]
fn state_fills_container_fields_from_the_runtime() {
    use crate::event::{encode, Event};
    use crate::fields::{FieldArg, Values};
    use crate::state::extract::{self, Field};
    use crate::state::{State, Thread};

    let dir = TempDir::new();
    podman_fixture(&dir, true, true);
    let mut s = State::new(crate::state::Limits::default());
    s.container_resolver = Some(ContainerResolver::new(dir.roots()));
    s.add_thread(podman_container_shell());
    s.add_thread(Thread {
        tid: 600,
        pid: 600,
        ptid: 1,
        comm: b"bash".to_vec(),
        cgroups: b"cpu=/user.slice\0".to_vec(),
        last_fd: -1,
        ..Thread::default()
    });
    let field = |s: &State, ev: &Event<'_>, name: &str, arg: FieldArg| {
        let mut v = Values::new();
        s.extractor(ev)
            .extract_field(Field::parse(name).unwrap(), &arg, &mut v);
        let mut out = Vec::new();
        extract::render_values(&v, &mut out);
        String::from_utf8(out).unwrap()
    };
    let listen_exit = |tid: i64| {
        encode(
            1_000,
            tid,
            25,
            &[
                &(-22i64).to_le_bytes(),
                &3i64.to_le_bytes(),
                &1i32.to_le_bytes(),
            ],
        )
    };
    // Host threads are never looked up.
    s.process(&Event::parse(&listen_exit(600)).unwrap());
    assert_eq!(
        s.container_resolver.as_ref().map(|r| r.stats.attempts),
        Some(0)
    );
    // A failed listen (exit, type 25): any exit event of the container's thread triggers
    // the lookup.
    let rec = encode(
        1_000,
        500,
        25,
        &[
            &(-22i64).to_le_bytes(),
            &3i64.to_le_bytes(),
            &1i32.to_le_bytes(),
        ],
    );
    let ev = Event::parse(&rec).unwrap();
    s.process(&ev);
    assert_eq!(
        field(&s, &ev, "container.privileged", FieldArg::None),
        "true"
    );
    assert_eq!(
        field(&s, &ev, "container.name", FieldArg::None),
        "demo_priv"
    );
    assert_eq!(field(&s, &ev, "container.type", FieldArg::None), "podman");
    assert_eq!(
        field(&s, &ev, "container.image.repository", FieldArg::None),
        "localhost/falco-demo"
    );
    assert_eq!(
        field(
            &s,
            &ev,
            "container.mount.dest",
            FieldArg::Key("/etc".into())
        ),
        "/host/etc"
    );
    assert_eq!(
        field(&s, &ev, "container.mounts", FieldArg::None),
        "/etc:/host/etc::true:rprivate,/srv/data:/data::false:rslave"
    );
    // Found: later events of the container do not look again.
    s.process(&Event::parse(&listen_exit(500)).unwrap());
    assert_eq!(
        s.container_resolver.as_ref().map(|r| r.stats.attempts),
        Some(1)
    );
}

/// A recording of the live source carries what the resolver found: the container JSON event
/// written before the event it was found on, so a replay (no runtime files) knows the same
/// container, every field the rules use included, before that event.
#[test]
fn recording_carries_resolved_containers_for_replay() {
    use crate::event::{encode, Event};
    use crate::source::scap::Reader;
    use crate::source::scap_write::{Tables, Writer};
    use crate::state::container::{container_to_json, RecordedContainers};
    use crate::state::State;

    let dir = TempDir::new();
    podman_fixture(&dir, true, true);
    let mut live = State::new(crate::state::Limits::default());
    live.container_resolver = Some(ContainerResolver::new(dir.roots()));
    live.add_thread(podman_container_shell());
    let listen_exit = |ts: u64| {
        encode(
            ts,
            500,
            25,
            &[
                &(-22i64).to_le_bytes(),
                &3i64.to_le_bytes(),
                &1i32.to_le_bytes(),
            ],
        )
    };
    let tables = Tables::default();
    let mut w = Writer::new(Vec::new(), tables).unwrap();
    let mut recorded = RecordedContainers::default();
    for ts in [1_000, 2_000] {
        let rec = listen_exit(ts);
        let ev = Event::parse(&rec).unwrap();
        live.process(&ev);
        if let Some(c) = recorded.unrecorded(&live, ev.tid()) {
            w.write_container_json(0, ev.ts(), &container_to_json(c))
                .unwrap();
        }
        w.write_event(0, &rec).unwrap();
    }
    // Once per container.
    assert_eq!(w.events(), 3);
    let found = live.containers[&PODMAN_ID.as_bytes()[..12]].clone();
    assert_eq!(found.privileged, Some(true));
    assert_eq!(found.mounts.len(), 2);

    let bytes = w.finish().unwrap();
    let mut r = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "mem".into()).unwrap();
    let mut replay = State::new(crate::state::Limits::default());
    let mut types = Vec::new();
    while r.advance().unwrap().is_some() {
        let ev = r.current().unwrap();
        types.push(ev.event_type());
        if ev.event_type() == 25 {
            // Known before the first event of the container.
            assert_eq!(replay.containers.get(&found.id), Some(&found));
        }
        replay.process(&ev);
    }
    assert_eq!(types, [324, 25, 25]);
}
