# Workloads of the container rule captures (scripts/record-rule-captures.sh --containers),
# sourced by bash from tests/rules/guest/record-containers in the booted Debian image (podman,
# crun, conmon; the image localhost/falco-demo imported from busybox-static by falco-demo).
# Same convention as cases.sh: `pos_NAME` must raise the rule, `neg_NAME` must not.
CONTAINER_CASES="privileged_container sensitive_mount_container sensitive_mount_below_container"

IMAGE=localhost/falco-demo:latest
run() { podman run --rm --network none "$@"; }

pos_privileged_container() { run --privileged --name rule-privileged "$IMAGE" /bin/true; }
neg_privileged_container() { run --name rule-ordinary "$IMAGE" /bin/true; }

# The host's /etc is sensitive, a data directory is not.
setup_sensitive_mount_container() { mkdir -p /srv/rule-data; }
pos_sensitive_mount_container() { run -v /etc:/host/etc:ro --name rule-etc-mount "$IMAGE" /bin/true; }
neg_sensitive_mount_container() { run -v /srv/rule-data:/data:ro --name rule-data-mount "$IMAGE" /bin/true; }

# A path below a sensitive one (the rule's container.mount.dest[/root*] glob): root's ssh keys;
# the near miss mounts an ordinary directory at the same place.
setup_sensitive_mount_below_container() { mkdir -p /root/.ssh /srv/rootless; }
pos_sensitive_mount_below_container() { run -v /root/.ssh:/keys:ro --name rule-ssh-mount "$IMAGE" /bin/true; }
neg_sensitive_mount_below_container() { run -v /srv/rootless:/keys:ro --name rule-srv-mount "$IMAGE" /bin/true; }
