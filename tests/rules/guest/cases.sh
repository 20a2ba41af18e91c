# Workloads of the per-rule captures, sourced by dash from tests/rules/guest/record-init.sh.
# For each case NAME: `setup_NAME` (optional, not recorded) prepares files, `pos_NAME` must
# raise the rule, `neg_NAME` is the near miss that must not. Each runs in its own dash, so
# every command is a real process (coreutils from the host, busybox applets through their
# /sbin links); `in_container CMD` runs CMD in a docker-style cgroup (container.id from the
# cgroup path; no runtime, so no image or privileged flag).
CASES="write_below_binary_dir modify_binary_dir write_below_etc read_sensitive_file
shell_history_tampered setuid_bit dev_file ptrace_memory_read terminal_shell_in_container
sudo_in_container netcat_remote_exec network_tool_in_container system_binary_network"

CONTAINER_ID=5f7a2c1e9d3b4a6f8e0c1b2d3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f

in_container() {
	cg=/sys/fs/cgroup/system.slice/docker-$CONTAINER_ID.scope
	mkdir -p "$cg"
	/bin/dash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' cg "$cg" "$@"
}

pos_write_below_binary_dir() { touch /usr/bin/dropped-tool; }
neg_write_below_binary_dir() { cat /usr/bin/true >/dev/null; touch /tmp/dropped-tool; }

setup_modify_binary_dir() { echo x >/usr/bin/old-tool; echo x >/tmp/old-tool; }
pos_modify_binary_dir() { rm /usr/bin/old-tool; }
neg_modify_binary_dir() { rm /tmp/old-tool; }

# cp is trusted below /etc only for package managers and account tools: run by a shell it
# raises the rule, run by a package manager (a dash named dpkg: the rule keys on names) not.
setup_write_below_etc() { echo x >/tmp/conf; mkdir -p /tmp/pm; cp /bin/dash /tmp/pm/dpkg; }
pos_write_below_etc() { cp /tmp/conf /etc/app.conf; }
neg_write_below_etc() { /tmp/pm/dpkg -c 'cp /tmp/conf /etc/app.conf; true'; }

pos_read_sensitive_file() { cat /etc/shadow >/dev/null; }
neg_read_sensitive_file() { cat /etc/passwd >/dev/null; }

setup_shell_history_tampered() { echo 'ls -la' >/root/.bash_history; echo notes >/root/notes; }
pos_shell_history_tampered() { mv /root/.bash_history /root/bash_history.moved; }
neg_shell_history_tampered() { mv /root/notes /root/notes.moved; }

setup_setuid_bit() { cp /usr/bin/true /tmp/prog; }
pos_setuid_bit() { chmod u+s /tmp/prog; }
neg_setuid_bit() { chmod 0755 /tmp/prog; }

pos_dev_file() { touch /dev/.hidden-payload; }
neg_dev_file() { /bin/dash -c 'echo x >/dev/null'; }

setup_ptrace_memory_read() { :; }
pos_ptrace_memory_read() {
	sleep 3 &
	rulehelper peek $!
	kill $! 2>/dev/null; wait $! 2>/dev/null
}
neg_ptrace_memory_read() { rulehelper traceme; }

# A controlling terminal needs a new session that takes one (busybox setsid -c).
pos_terminal_shell_in_container() { in_container setsid -c /bin/sh -c 'exit 0' </dev/ttyS0 >/dev/ttyS0 2>&1; }
neg_terminal_shell_in_container() { in_container /bin/sh -c 'exit 0' </dev/null; }

# The guest has no real sudo: a program named sudo is what the rule keys on.
setup_sudo_in_container() { cp /usr/bin/true /usr/local/bin/sudo; }
pos_sudo_in_container() { in_container /usr/local/bin/sudo -n true; }
neg_sudo_in_container() { /usr/local/bin/sudo -n true; }

# busybox nc (comm "nc"); the connection is refused, the exec is what counts.
pos_netcat_remote_exec() { nc -e /bin/sh 127.0.0.1 9 </dev/null >/dev/null 2>&1; true; }
neg_netcat_remote_exec() { nc -w 1 127.0.0.1 9 </dev/null >/dev/null 2>&1; true; }

pos_network_tool_in_container() { in_container nc -w 1 127.0.0.1 9 </dev/null >/dev/null 2>&1; true; }
neg_network_tool_in_container() { nc -w 1 127.0.0.1 9 </dev/null >/dev/null 2>&1; true; }

# A program masquerading under a coreutils name that talks to the network, and the same
# program under its own name.
setup_system_binary_network() { mkdir -p /tmp/masq; cp /usr/bin/rulehelper /tmp/masq/cat; }
with_listener() {
	nc -l -p 8080 >/dev/null 2>&1 &
	l=$!
	sleep 1
	"$@"
	kill $l 2>/dev/null; wait $l 2>/dev/null
}
pos_system_binary_network() { with_listener /tmp/masq/cat connect 127.0.0.1 8080; }
neg_system_binary_network() { with_listener rulehelper connect 127.0.0.1 8080; }
