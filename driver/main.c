// SPDX-License-Identifier: GPL-2.0-only
/*
 * falco: records system calls into per-CPU shared-memory rings read by the falco daemon.
 *
 * One probe on the raw sys_exit tracepoint writes one record per interesting syscall, with
 * its arguments and result (scap v2 event layout, newest exit layouts), and one on
 * sched_process_exit writes PROCEXIT_1_E (attached from load to unload, idle until a
 * reader enables capture). The probes run with preemption disabled, read
 * user memory only through non-faulting copies and never sleep; a full ring is a counted
 * drop. Devices, ring layout and ioctls: include/falco_abi.h.
 *
 * Rings exist for every possible CPU from load to unload, so CPU hotplug needs no work: a
 * CPU that goes offline stops producing and its ring stays readable.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/pid_namespace.h>
#include <linux/cred.h>
#include <linux/audit.h>
#include <linux/tty.h>
#include <linux/fs_struct.h>
#include <linux/dcache.h>
#include <linux/cgroup.h>
#include <linux/random.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/un.h>
#include <linux/net.h>
#include <linux/ptrace.h>
#include <linux/fcntl.h>
#include <linux/mount.h>
#include <linux/poll.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/percpu.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <asm/unistd.h>

#include "compat.h"

#define FALCO_USER_PTR __user
#define FALCO_LOAD_ACQUIRE(p) smp_load_acquire(p)
#define FALCO_STORE_RELEASE(p, v) smp_store_release(p, v)
#define FALCO_STORE_RELAXED(p, v) WRITE_ONCE(*(p), v)
#define FALCO_COPY_FROM_USER(d, s, n) falco_copy_from_user_nofault((d), (s), (n))
#define FALCO_STRNCPY_FROM_USER(d, s, n) falco_strncpy_from_user_nofault((d), (s), (n))
#include "ring_core.h"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The falco project");
MODULE_DESCRIPTION("System call capture into per-CPU shared-memory rings for the falco daemon");
MODULE_VERSION("0.1.0");

static unsigned int ring_bytes = 8u << 20;
module_param(ring_bytes, uint, 0444);
MODULE_PARM_DESC(ring_bytes, "Data area per CPU in bytes: a power of two in [64 KiB, 1 GiB] (default 8 MiB)");

static unsigned int max_path_len = 4096;
module_param(max_path_len, uint, 0444);
MODULE_PARM_DESC(max_path_len, "Longest path captured, bytes including the NUL: [64, 65000] (default 4096)");

static unsigned int max_args_len = 4096;
module_param(max_args_len, uint, 0444);
MODULE_PARM_DESC(max_args_len, "Bytes of argv and of the environment captured: [64, 65000] (default 4096)");

static char *timestamp_clock = "auto";
module_param(timestamp_clock, charp, 0444);
MODULE_PARM_DESC(timestamp_clock, "auto (default): the scheduler clock where the kernel keeps it stable across CPUs, else the wall clock per record; sched or wall: always that one");

/* Scap event type ids (SCAP-FORMAT.md section 4), newest exit layouts. */
enum {
	EV_OPEN_X = 3, EV_CLOSE_X = 5, EV_READ_X = 7, EV_WRITE_X = 9, EV_SOCKET_X = 19,
	EV_BIND_X = 21, EV_CONNECT_X = 23, EV_LISTEN_X = 25, EV_CREAT_X = 59,
	EV_PTRACE_X = 169, EV_RENAME_X = 175, EV_RENAMEAT_X = 177, EV_SYMLINK_X = 179,
	EV_SYMLINKAT_X = 181, EV_PROCEXIT_1_E = 186, EV_SETRESUID_X = 193,
	EV_SETRESGID_X = 195, EV_SETUID_X = 199, EV_SETGID_X = 201, EV_CLONE_20_X = 223,
	EV_FORK_20_X = 225, EV_VFORK_20_X = 227, EV_ACCEPT_5_X = 247, EV_MOUNT_X = 257,
	EV_MKDIR_2_X = 277, EV_RMDIR_2_X = 279, EV_EXECVE_19_X = 293, EV_UNLINK_2_X = 301,
	EV_UNLINKAT_2_X = 303, EV_MKDIRAT_X = 305, EV_OPENAT_2_X = 307, EV_LINK_2_X = 309,
	EV_LINKAT_2_X = 311, EV_FCHMODAT_X = 313, EV_CHMOD_X = 315, EV_FCHMOD_X = 317,
	EV_RENAMEAT2_X = 319, EV_OPENAT2_X = 327, EV_EXECVEAT_X = 331, EV_CLONE3_X = 335,
	EV_DUP2_X = 363, EV_DUP3_X = 365, EV_DUP_1_X = 367, EV_CHOWN_X = 379,
	EV_LCHOWN_X = 381, EV_FCHOWN_X = 383, EV_FCHOWNAT_X = 385, EV_ACCEPT4_6_X = 389,
	EV_UMOUNT2_X = 391, EV_SETREUID_X = 427,
	/* fd-creating, cwd, session and namespace calls the state tracker follows */
	EV_SENDTO_X = 31, EV_RECVFROM_X = 35, EV_SOCKETPAIR_X = 43, EV_SENDMSG_X = 49,
	EV_RECVMSG_X = 53, EV_PIPE_X = 61, EV_EVENTFD_X = 63, EV_CHDIR_X = 95,
	EV_FCHDIR_X = 97, EV_SIGNALFD_X = 127, EV_KILL_X = 129, EV_TIMERFD_CREATE_X = 137,
	EV_INOTIFY_INIT_X = 139, EV_FCNTL_X = 151, EV_SETNS_X = 241, EV_CHROOT_X = 267,
	EV_SETSID_X = 275, EV_UNSHARE_X = 285, EV_USERFAULTFD_X = 321,
	EV_EPOLL_CREATE_X = 375, EV_EPOLL_CREATE1_X = 377, EV_PIPE2_X = 393,
	EV_INOTIFY_INIT1_X = 395, EV_EVENTFD2_X = 397, EV_SIGNALFD4_X = 399,
	EV_MEMFD_CREATE_X = 405, EV_SETREGID_X = 429,
};

/*
 * Generic parameter ops: kind in the high 5 bits, syscall argument index in the low 3.
 * A record of a "generic" syscall is its op list in order.
 */
enum {
	OP_END = 0,
	OP_RES,        /* the return value, i64 */
	OP_FD,         /* (int)arg as i64 (fd, dirfd with AT_FDCWD = -100, pid) */
	OP_PATH,       /* user string up to max_path_len */
	OP_U32,        /* arg as u32 (uid, gid, mode, flags whose PPM value is the Linux one) */
	OP_I32,        /* arg as i32 */
	OP_MODE,       /* arg & 07777 as u32 (PPM_S_* bits equal the Linux ones) */
	OP_FCHOWNAT_FLAGS,
	OP_MOUNT_FLAGS,
	OP_U8,         /* arg as u8 (signal numbers) */
	OP_U16,        /* arg as u16 */
	OP_CLONE_FLAGS, /* CLONE_* namespace flags as PPM clone flags, u32 */
	OP_FD_FLAGS32, /* O_NONBLOCK/O_CLOEXEC/O_DIRECT as PPM file flags, u32 */
	OP_FD_FLAGS16, /* the same as u16 */
	OP_FCNTL_CMD,  /* F_* command as PPM_FCNTL_*, u8 */
};
#define OP(kind, arg) ((u8)(((kind) << 3) | (arg)))
#define OP_KIND(op) ((op) >> 3)
#define OP_ARG(op) ((op) & 7)

/* Special fillers, for records that need more than argument copies. */
enum {
	FILL_GENERIC = 0, FILL_OPEN, FILL_OPENAT, FILL_OPENAT2, FILL_CREAT, FILL_EXECVE,
	FILL_EXECVEAT, FILL_CLONE, FILL_FORK, FILL_VFORK, FILL_CLONE3, FILL_SOCKET,
	FILL_CONNECT, FILL_BIND, FILL_ACCEPT, FILL_ACCEPT4, FILL_PTRACE, FILL_READ,
	FILL_WRITE, FILL_DUP3, FILL_PIPE, FILL_PIPE2, FILL_SOCKETPAIR, FILL_SENDTO,
	FILL_RECVFROM, FILL_SENDMSG, FILL_RECVMSG,
};

struct falco_syscall {
	u16 event;
	u8 fill;
	u8 ops[8];
};

#define FALCO_NR_SYSCALLS 512
#define G(ev, ...) { .event = (ev), .fill = FILL_GENERIC, .ops = { __VA_ARGS__ } }
#define S(ev, f) { .event = (ev), .fill = (f) }

/* Syscall number -> record. Entries exist only where the architecture has the call. */
static const struct falco_syscall falco_syscalls[FALCO_NR_SYSCALLS] = {
#ifdef __NR_open
	[__NR_open] = S(EV_OPEN_X, FILL_OPEN),
#endif
#ifdef __NR_creat
	[__NR_creat] = S(EV_CREAT_X, FILL_CREAT),
#endif
	[__NR_openat] = S(EV_OPENAT_2_X, FILL_OPENAT),
#ifdef __NR_openat2
	[__NR_openat2] = S(EV_OPENAT2_X, FILL_OPENAT2),
#endif
	[__NR_close] = G(EV_CLOSE_X, OP(OP_RES, 0), OP(OP_FD, 0)),
	[__NR_read] = S(EV_READ_X, FILL_READ),
	[__NR_write] = S(EV_WRITE_X, FILL_WRITE),
	[__NR_execve] = S(EV_EXECVE_19_X, FILL_EXECVE),
#ifdef __NR_execveat
	[__NR_execveat] = S(EV_EXECVEAT_X, FILL_EXECVEAT),
#endif
	[__NR_clone] = S(EV_CLONE_20_X, FILL_CLONE),
#ifdef __NR_fork
	[__NR_fork] = S(EV_FORK_20_X, FILL_FORK),
#endif
#ifdef __NR_vfork
	[__NR_vfork] = S(EV_VFORK_20_X, FILL_VFORK),
#endif
#ifdef __NR_clone3
	[__NR_clone3] = S(EV_CLONE3_X, FILL_CLONE3),
#endif
	[__NR_dup] = G(EV_DUP_1_X, OP(OP_RES, 0), OP(OP_FD, 0)),
#ifdef __NR_dup2
	[__NR_dup2] = G(EV_DUP2_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_FD, 1)),
#endif
	[__NR_dup3] = S(EV_DUP3_X, FILL_DUP3),
	[__NR_socket] = S(EV_SOCKET_X, FILL_SOCKET),
	[__NR_connect] = S(EV_CONNECT_X, FILL_CONNECT),
	[__NR_bind] = S(EV_BIND_X, FILL_BIND),
	[__NR_listen] = G(EV_LISTEN_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_I32, 1)),
	[__NR_accept] = S(EV_ACCEPT_5_X, FILL_ACCEPT),
	[__NR_accept4] = S(EV_ACCEPT4_6_X, FILL_ACCEPT4),
#ifdef __NR_rename
	[__NR_rename] = G(EV_RENAME_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_PATH, 1)),
#endif
	[__NR_renameat] = G(EV_RENAMEAT_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			    OP(OP_FD, 2), OP(OP_PATH, 3)),
#ifdef __NR_renameat2
	[__NR_renameat2] = G(EV_RENAMEAT2_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			     OP(OP_FD, 2), OP(OP_PATH, 3), OP(OP_U32, 4)),
#endif
#ifdef __NR_unlink
	[__NR_unlink] = G(EV_UNLINK_2_X, OP(OP_RES, 0), OP(OP_PATH, 0)),
#endif
	[__NR_unlinkat] = G(EV_UNLINKAT_2_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			    OP(OP_U32, 2)),
#ifdef __NR_mkdir
	[__NR_mkdir] = G(EV_MKDIR_2_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_MODE, 1)),
#endif
	[__NR_mkdirat] = G(EV_MKDIRAT_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			   OP(OP_MODE, 2)),
#ifdef __NR_rmdir
	[__NR_rmdir] = G(EV_RMDIR_2_X, OP(OP_RES, 0), OP(OP_PATH, 0)),
#endif
#ifdef __NR_link
	[__NR_link] = G(EV_LINK_2_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_PATH, 1)),
#endif
	[__NR_linkat] = G(EV_LINKAT_2_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			  OP(OP_FD, 2), OP(OP_PATH, 3), OP(OP_U32, 4)),
#ifdef __NR_symlink
	[__NR_symlink] = G(EV_SYMLINK_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_PATH, 1)),
#endif
	[__NR_symlinkat] = G(EV_SYMLINKAT_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_FD, 1),
			     OP(OP_PATH, 2)),
#ifdef __NR_chmod
	[__NR_chmod] = G(EV_CHMOD_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_MODE, 1)),
#endif
	[__NR_fchmod] = G(EV_FCHMOD_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_MODE, 1)),
	[__NR_fchmodat] = G(EV_FCHMODAT_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			    OP(OP_MODE, 2)),
#ifdef __NR_chown
	[__NR_chown] = G(EV_CHOWN_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_U32, 1), OP(OP_U32, 2)),
#endif
#ifdef __NR_lchown
	[__NR_lchown] = G(EV_LCHOWN_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_U32, 1), OP(OP_U32, 2)),
#endif
	[__NR_fchown] = G(EV_FCHOWN_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_U32, 1), OP(OP_U32, 2)),
	[__NR_fchownat] = G(EV_FCHOWNAT_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_PATH, 1),
			    OP(OP_U32, 2), OP(OP_U32, 3), OP(OP_FCHOWNAT_FLAGS, 4)),
	[__NR_setuid] = G(EV_SETUID_X, OP(OP_RES, 0), OP(OP_U32, 0)),
	[__NR_setgid] = G(EV_SETGID_X, OP(OP_RES, 0), OP(OP_U32, 0)),
	[__NR_setresuid] = G(EV_SETRESUID_X, OP(OP_RES, 0), OP(OP_U32, 0), OP(OP_U32, 1),
			     OP(OP_U32, 2)),
	[__NR_setresgid] = G(EV_SETRESGID_X, OP(OP_RES, 0), OP(OP_U32, 0), OP(OP_U32, 1),
			     OP(OP_U32, 2)),
	[__NR_setreuid] = G(EV_SETREUID_X, OP(OP_RES, 0), OP(OP_U32, 0), OP(OP_U32, 1)),
	[__NR_ptrace] = S(EV_PTRACE_X, FILL_PTRACE),
	[__NR_mount] = G(EV_MOUNT_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_PATH, 1),
			 OP(OP_PATH, 2), OP(OP_MOUNT_FLAGS, 3)),
	[__NR_umount2] = G(EV_UMOUNT2_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_U32, 1)),
	[__NR_sendto] = S(EV_SENDTO_X, FILL_SENDTO),
	[__NR_recvfrom] = S(EV_RECVFROM_X, FILL_RECVFROM),
	[__NR_sendmsg] = S(EV_SENDMSG_X, FILL_SENDMSG),
	[__NR_recvmsg] = S(EV_RECVMSG_X, FILL_RECVMSG),
	[__NR_socketpair] = S(EV_SOCKETPAIR_X, FILL_SOCKETPAIR),
#ifdef __NR_pipe
	[__NR_pipe] = S(EV_PIPE_X, FILL_PIPE),
#endif
	[__NR_pipe2] = S(EV_PIPE2_X, FILL_PIPE2),
#ifdef __NR_eventfd
	[__NR_eventfd] = G(EV_EVENTFD_X, OP(OP_RES, 0)),
#endif
	[__NR_eventfd2] = G(EV_EVENTFD2_X, OP(OP_RES, 0), OP(OP_FD_FLAGS16, 1)),
#ifdef __NR_signalfd
	[__NR_signalfd] = G(EV_SIGNALFD_X, OP(OP_RES, 0)),
#endif
	[__NR_signalfd4] = G(EV_SIGNALFD4_X, OP(OP_RES, 0), OP(OP_U16, 3)),
	[__NR_timerfd_create] = G(EV_TIMERFD_CREATE_X, OP(OP_RES, 0)),
#ifdef __NR_inotify_init
	[__NR_inotify_init] = G(EV_INOTIFY_INIT_X, OP(OP_RES, 0)),
#endif
	[__NR_inotify_init1] = G(EV_INOTIFY_INIT1_X, OP(OP_RES, 0), OP(OP_FD_FLAGS16, 0)),
#ifdef __NR_epoll_create
	[__NR_epoll_create] = G(EV_EPOLL_CREATE_X, OP(OP_RES, 0)),
#endif
	[__NR_epoll_create1] = G(EV_EPOLL_CREATE1_X, OP(OP_RES, 0)),
#ifdef __NR_userfaultfd
	[__NR_userfaultfd] = G(EV_USERFAULTFD_X, OP(OP_RES, 0), OP(OP_FD_FLAGS32, 0)),
#endif
#ifdef __NR_memfd_create
	[__NR_memfd_create] = G(EV_MEMFD_CREATE_X, OP(OP_RES, 0), OP(OP_PATH, 0), OP(OP_U32, 1)),
#endif
	[__NR_fcntl] = G(EV_FCNTL_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_FCNTL_CMD, 1)),
	[__NR_chdir] = G(EV_CHDIR_X, OP(OP_RES, 0), OP(OP_PATH, 0)),
	[__NR_fchdir] = G(EV_FCHDIR_X, OP(OP_RES, 0), OP(OP_FD, 0)),
	[__NR_chroot] = G(EV_CHROOT_X, OP(OP_RES, 0), OP(OP_PATH, 0)),
	[__NR_setsid] = G(EV_SETSID_X, OP(OP_RES, 0)),
	[__NR_setregid] = G(EV_SETREGID_X, OP(OP_RES, 0), OP(OP_U32, 0), OP(OP_U32, 1)),
	[__NR_kill] = G(EV_KILL_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_U8, 1)),
	[__NR_unshare] = G(EV_UNSHARE_X, OP(OP_RES, 0), OP(OP_CLONE_FLAGS, 0)),
	[__NR_setns] = G(EV_SETNS_X, OP(OP_RES, 0), OP(OP_FD, 0), OP(OP_CLONE_FLAGS, 1)),
};

struct falco_ring {
	struct page **pages;       /* consumer page, producer page, data pages */
	unsigned int nr_pages;
	void *vaddr;               /* vmap: consumer, producer, data, data again */
	struct falco_producer producer;
	atomic_t open;             /* one reader per device */
	unsigned int cpu;
	/*
	 * Waking a reader blocked in poll(2): it sets `waiting` before checking for data; a
	 * producer that publishes a record while it is set queues `wakeup` (irq_work: safe in
	 * any context), whose handler wakes `wq`. An idle reader costs no CPU.
	 */
	int waiting;
	wait_queue_head_t wq;
	struct irq_work wakeup;
};

struct falco_scratch {
	char *args;                /* max_args_len bytes */
	char *path;                /* PATH_MAX bytes */
};

static struct falco_ring *falco_rings;
static struct falco_scratch *falco_scratch;
static unsigned int falco_nr_rings;
static dev_t falco_devt;
static struct cdev falco_cdev;
static struct class *falco_class;

static DEFINE_MUTEX(falco_lock);          /* serialises enable/disable/open/release */
static unsigned int falco_open_devices;   /* under falco_lock */
static bool falco_capture;                /* read locklessly by the probes */
static unsigned long falco_interest[BITS_TO_LONGS(FALCO_INTEREST_BITS)];
static unsigned long falco_supported[BITS_TO_LONGS(FALCO_INTEREST_BITS)];
static u32 falco_snaplen = FALCO_SNAPLEN_DEFAULT;
static u64 falco_pointer_key;             /* hides kernel addresses in unix tuples */

static struct tracepoint *falco_tp_sys_exit;
static struct tracepoint *falco_tp_proc_exit;

/* ---- conversions to PPM values (SCAP-FORMAT.md section 6) ---- */

static u32 falco_open_flags(unsigned long flags)
{
	u32 res = 0;

	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		res |= 2;
		break;
	case O_RDWR:
		res |= 3;
		break;
	default:
		res |= 1;
		break;
	}
	if (flags & O_CREAT)
		res |= 4;
	if (flags & O_APPEND)
		res |= 8;
#ifdef O_DSYNC
	if (flags & O_DSYNC)
		res |= 16;
#endif
	if (flags & O_EXCL)
		res |= 32;
	if (flags & O_NONBLOCK)
		res |= 64;
#ifdef __O_SYNC
	if (flags & __O_SYNC)
		res |= 128;
#endif
	if (flags & O_TRUNC)
		res |= 256;
#ifdef O_DIRECT
	if (flags & O_DIRECT)
		res |= 512;
#endif
#ifdef __O_TMPFILE
	if (flags & __O_TMPFILE)
		res |= 8192;
	else
#endif
	if (flags & O_DIRECTORY)
		res |= 1024;
#ifdef O_LARGEFILE
	if (flags & O_LARGEFILE)
		res |= 2048;
#endif
	if (flags & O_CLOEXEC)
		res |= 4096;
	return res;
}

static bool falco_open_creates(unsigned long flags)
{
#ifdef __O_TMPFILE
	if (flags & __O_TMPFILE)
		return true;
#endif
	return flags & O_CREAT;
}

static u32 falco_clone_flags(u64 flags)
{
	static const struct { u64 linux_flag; u32 ppm; } map[] = {
		{ CLONE_FILES, 0x1 }, { CLONE_FS, 0x2 }, { CLONE_IO, 0x4 },
		{ CLONE_NEWIPC, 0x8 }, { CLONE_NEWNET, 0x10 }, { CLONE_NEWNS, 0x20 },
		{ CLONE_NEWPID, 0x40 }, { CLONE_NEWUTS, 0x80 }, { CLONE_PARENT, 0x100 },
		{ CLONE_PARENT_SETTID, 0x200 }, { CLONE_PTRACE, 0x400 },
		{ CLONE_SIGHAND, 0x800 }, { CLONE_SYSVSEM, 0x1000 }, { CLONE_THREAD, 0x2000 },
		{ CLONE_UNTRACED, 0x4000 }, { CLONE_VM, 0x8000 }, { CLONE_NEWUSER, 0x100000 },
		{ CLONE_CHILD_CLEARTID, 0x800000 }, { CLONE_CHILD_SETTID, 0x1000000 },
		{ CLONE_SETTLS, 0x2000000 }, { CLONE_VFORK, 0x8000000 },
#ifdef CLONE_NEWCGROUP
		{ CLONE_NEWCGROUP, 0x10000000 },
#endif
	};
	u32 res = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (flags & map[i].linux_flag)
			res |= map[i].ppm;
	return res;
}

static u16 falco_ptrace_request(long request)
{
	static const struct { long linux_req; u16 ppm; } map[] = {
		{ PTRACE_TRACEME, 1 }, { PTRACE_PEEKTEXT, 2 }, { PTRACE_PEEKDATA, 3 },
		{ PTRACE_PEEKUSR, 4 }, { PTRACE_POKETEXT, 5 }, { PTRACE_POKEDATA, 6 },
		{ PTRACE_POKEUSR, 7 }, { PTRACE_CONT, 8 }, { PTRACE_KILL, 9 },
		{ PTRACE_SINGLESTEP, 10 }, { PTRACE_ATTACH, 11 }, { PTRACE_DETACH, 12 },
		{ PTRACE_SYSCALL, 13 }, { PTRACE_SETOPTIONS, 14 }, { PTRACE_GETEVENTMSG, 15 },
		{ PTRACE_GETSIGINFO, 16 }, { PTRACE_SETSIGINFO, 17 }, { 0x4204, 18 },
		{ 0x4205, 19 }, { 0x4206, 20 }, { 0x4207, 21 }, { 0x4208, 22 }, { 0x4209, 23 },
		{ 0x420a, 24 }, { 0x420b, 25 },
#ifdef PTRACE_GETREGS
		{ PTRACE_GETREGS, 26 }, { PTRACE_SETREGS, 27 },
#endif
#ifdef PTRACE_GETFPREGS
		{ PTRACE_GETFPREGS, 28 }, { PTRACE_SETFPREGS, 29 },
#endif
#ifdef PTRACE_GETFPXREGS
		{ PTRACE_GETFPXREGS, 30 }, { PTRACE_SETFPXREGS, 31 },
#endif
#ifdef PTRACE_OLDSETOPTIONS
		{ PTRACE_OLDSETOPTIONS, 32 },
#endif
#ifdef PTRACE_GET_THREAD_AREA
		{ PTRACE_GET_THREAD_AREA, 33 }, { PTRACE_SET_THREAD_AREA, 34 },
#endif
#ifdef PTRACE_ARCH_PRCTL
		{ PTRACE_ARCH_PRCTL, 35 },
#endif
#ifdef PTRACE_SYSEMU
		{ PTRACE_SYSEMU, 36 }, { PTRACE_SYSEMU_SINGLESTEP, 37 },
#endif
#ifdef PTRACE_SINGLEBLOCK
		{ PTRACE_SINGLEBLOCK, 38 },
#endif
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].linux_req == request)
			return map[i].ppm;
	return 0;
}

/* O_NONBLOCK, O_CLOEXEC and O_DIRECT of pipe2/eventfd2/inotify_init1/userfaultfd flags. */
static u32 falco_fd_flags(unsigned long flags)
{
	u32 res = 0;

	if (flags & O_NONBLOCK)
		res |= 64;
	if (flags & O_CLOEXEC)
		res |= 4096;
#ifdef O_DIRECT
	if (flags & O_DIRECT)
		res |= 512;
#endif
	return res;
}

static u8 falco_fcntl_cmd(unsigned long cmd)
{
	static const struct { unsigned long linux_cmd; u8 ppm; } map[] = {
		{ F_DUPFD, 1 }, { F_GETFD, 2 }, { F_SETFD, 3 }, { F_GETFL, 4 }, { F_SETFL, 5 },
		{ F_GETLK, 6 }, { F_SETLK, 8 }, { F_SETLKW, 9 }, { F_SETOWN, 10 },
		{ F_GETOWN, 12 }, { F_SETSIG, 13 }, { F_GETSIG, 15 },
#ifdef F_SETOWN_EX
		{ F_SETOWN_EX, 21 }, { F_GETOWN_EX, 22 },
#endif
		{ F_SETLEASE, 23 }, { F_GETLEASE, 24 },
#ifdef F_CANCELLK
		{ F_CANCELLK, 25 },
#endif
		{ F_DUPFD_CLOEXEC, 26 }, { F_NOTIFY, 27 },
#ifdef F_SETPIPE_SZ
		{ F_SETPIPE_SZ, 28 }, { F_GETPIPE_SZ, 29 },
#endif
#ifdef F_OFD_GETLK
		{ F_OFD_GETLK, 30 }, { F_OFD_SETLK, 31 }, { F_OFD_SETLKW, 32 },
#endif
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].linux_cmd == cmd)
			return map[i].ppm;
	return 0;
}

/* ---- parameter helpers ---- */

static void falco_param_i64(struct falco_record *r, s64 v)
{
	falco_record_u64(r, (u64)v);
}

static void falco_param_path(struct falco_record *r, unsigned long uptr)
{
	falco_record_ustr(r, (const char __user *)uptr, max_path_len);
}

/* The file behind the fd a syscall returned (NULL on error); the caller fputs it. */
static struct file *falco_result_file(long fd)
{
	return fd >= 0 ? fget((unsigned int)fd) : NULL;
}

/* dev and ino of `file` (empty without one). */
static void falco_param_file_ids(struct falco_record *r, struct file *file)
{
	struct inode *inode;

	if (!file) {
		falco_record_empty(r);
		falco_record_empty(r);
		return;
	}
	inode = file_inode(file);
	falco_record_u32(r, new_encode_dev(inode->i_sb->s_dev));
	falco_record_u64(r, inode->i_ino);
}

/* ---- socket addresses (SCAP-FORMAT.md section 3.5) ---- */

static u64 falco_hide_pointer(const void *p)
{
	return p ? ((u64)(unsigned long)p ^ falco_pointer_key) : 0;
}

/*
 * The user's sockaddr as PT_SOCKADDR: family byte + address (+ port). Unknown families
 * or unreadable memory give an empty parameter.
 */
static void falco_param_sockaddr(struct falco_record *r, unsigned long uaddr, unsigned long ulen)
{
	struct sockaddr_storage ss;
	u32 space;
	u8 *dst;
	size_t len = ulen;

	if (!uaddr || len < sizeof(sa_family_t)) {
		falco_record_empty(r);
		return;
	}
	if (len > sizeof(ss))
		len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (falco_copy_from_user_nofault(&ss, (const void __user *)uaddr, len)) {
		r->p->drops_fault++;
		falco_record_empty(r);
		return;
	}
	dst = falco_record_reserve(r, 1 + 16 + 2 + UNIX_PATH_MAX + 1, &space);
	switch (ss.ss_family) {
	case AF_INET: {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (space < 7)
			break;
		dst[0] = 2;
		memcpy(dst + 1, &sin->sin_addr.s_addr, 4);
		falco_put_u16(dst + 5, ntohs(sin->sin_port));
		falco_record_close_param(r, 7);
		return;
	}
	case AF_INET6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (space < 19)
			break;
		dst[0] = 10;
		memcpy(dst + 1, &sin6->sin6_addr, 16);
		falco_put_u16(dst + 17, ntohs(sin6->sin6_port));
		falco_record_close_param(r, 19);
		return;
	}
	case AF_UNIX: {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		const char *path = sun->sun_path;
		size_t max = len > offsetof(struct sockaddr_un, sun_path) ?
			     len - offsetof(struct sockaddr_un, sun_path) : 0;
		size_t n;

		if (max && path[0] == 0) { /* abstract socket: drop the leading NUL */
			path++;
			max--;
		}
		n = strnlen(path, max);
		if (space < 1 + n + 1)
			break;
		dst[0] = 1;
		memcpy(dst + 1, path, n);
		dst[1 + n] = 0;
		falco_record_close_param(r, (u32)(1 + n + 1));
		return;
	}
	default:
		falco_record_empty(r);
		return;
	}
	r->overflow = 1;
}

/* Copies a user sockaddr of `ulen` bytes; false when absent, too short or unreadable. */
static bool falco_copy_sockaddr(struct falco_record *r, unsigned long uaddr, unsigned long ulen,
				struct sockaddr_storage *ss)
{
	size_t len = ulen;

	if (!uaddr || len < sizeof(sa_family_t))
		return false;
	if (len > sizeof(*ss))
		len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (falco_copy_from_user_nofault(ss, (const void __user *)uaddr, len)) {
		r->p->drops_fault++;
		return false;
	}
	return true;
}

/*
 * PT_SOCKTUPLE of the socket behind `fd`, read from the socket itself (no locks: the
 * fields are written before the socket is connected and read here racily, as a tracer
 * may). `inbound`: source = peer (accept, recvfrom), else source = local (connect,
 * sendto). `remote`, when given with the socket's family, replaces the socket's peer (the
 * address an unconnected datagram socket sent to or received from).
 */
static void falco_param_socktuple_to(struct falco_record *r, long fd, bool inbound,
				     const struct sockaddr_storage *remote)
{
	struct file *file = fd >= 0 ? fget((unsigned int)fd) : NULL;
	struct socket *sock;
	struct sock *sk;
	u32 space;
	u8 *dst;

	if (!file) {
		falco_record_empty(r);
		return;
	}
	sock = falco_sock_from_file(file);
	sk = sock ? sock->sk : NULL;
	dst = falco_record_reserve(r, 37, &space);
	if (!sk) {
		falco_record_empty(r);
	} else if (sk->sk_family == AF_INET) {
		struct inet_sock *inet = inet_sk(sk);
		__be32 local = inet->inet_saddr, peer = inet->inet_daddr;
		u16 lport = ntohs(inet->inet_sport), pport = ntohs(inet->inet_dport);

		if (remote && remote->ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)remote;

			peer = sin->sin_addr.s_addr;
			pport = ntohs(sin->sin_port);
		}
		if (space < 13) {
			r->overflow = 1;
		} else {
			dst[0] = 2;
			memcpy(dst + 1, inbound ? &peer : &local, 4);
			falco_put_u16(dst + 5, inbound ? pport : lport);
			memcpy(dst + 7, inbound ? &local : &peer, 4);
			falco_put_u16(dst + 11, inbound ? lport : pport);
			falco_record_close_param(r, 13);
		}
#if IS_ENABLED(CONFIG_IPV6)
	} else if (sk->sk_family == AF_INET6) {
		struct inet_sock *inet = inet_sk(sk);
		const struct in6_addr *local = falco_sk_v6_saddr(sk), *peer = falco_sk_v6_daddr(sk);
		u16 lport = ntohs(inet->inet_sport), pport = ntohs(inet->inet_dport);

		if (remote && remote->ss_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)remote;

			peer = &sin6->sin6_addr;
			pport = ntohs(sin6->sin6_port);
		}
		if (space < 37) {
			r->overflow = 1;
		} else {
			dst[0] = 10;
			memcpy(dst + 1, inbound ? peer : local, 16);
			falco_put_u16(dst + 17, inbound ? pport : lport);
			memcpy(dst + 19, inbound ? local : peer, 16);
			falco_put_u16(dst + 35, inbound ? lport : pport);
			falco_record_close_param(r, 37);
		}
#endif
	} else if (sk->sk_family == AF_UNIX) {
		/* Family, this socket and its peer (as stable, hidden identities), no path. */
		if (space < 18) {
			r->overflow = 1;
		} else {
			dst[0] = 1;
			falco_put_u64(dst + 1, falco_hide_pointer(sk));
			falco_put_u64(dst + 9, 0);
			dst[17] = 0;
			falco_record_close_param(r, 18);
		}
	} else {
		falco_record_empty(r);
	}
	fput(file);
}

static void falco_param_socktuple(struct falco_record *r, long fd, bool inbound)
{
	falco_param_socktuple_to(r, fd, inbound, NULL);
}

/* The user-space struct msghdr of sendmsg/recvmsg (64-bit layout, stable ABI). */
struct falco_user_msghdr {
	void __user *msg_name;
	int msg_namelen;
	struct iovec __user *msg_iov;
	__kernel_size_t msg_iovlen;
	void __user *msg_control;
	__kernel_size_t msg_controllen;
	unsigned int msg_flags;
};

/* At most this many iovecs are walked for the data and size of sendmsg/recvmsg. */
#define FALCO_MAX_IOVECS 32

/*
 * The first `limit` bytes (at most snaplen) of the buffers an iovec array describes, as one
 * parameter; `*total` gets the sum of the buffer sizes.
 */
static void falco_param_iovec(struct falco_record *r, const struct iovec __user *uiov,
			      unsigned long iovlen, unsigned long limit, u32 *total)
{
	u32 snaplen = READ_ONCE(falco_snaplen), space, used = 0;
	unsigned long i, want;
	u64 sum = 0;
	u8 *dst;

	*total = 0;
	if (!uiov) {
		falco_record_empty(r);
		return;
	}
	if (iovlen > FALCO_MAX_IOVECS)
		iovlen = FALCO_MAX_IOVECS;
	want = limit < snaplen ? limit : snaplen;
	dst = falco_record_reserve(r, (u32)want, &space);
	if (want > space) {
		r->overflow = 1;
		return;
	}
	for (i = 0; i < iovlen; i++) {
		struct iovec iov;
		unsigned long n;

		if (falco_copy_from_user_nofault(&iov, uiov + i, sizeof(iov))) {
			r->p->drops_fault++;
			break;
		}
		sum += iov.iov_len;
		n = iov.iov_len;
		if (n > want - used)
			n = want - used;
		if (n && falco_copy_from_user_nofault(dst + used, iov.iov_base, n)) {
			r->p->drops_fault++;
			n = 0;
		}
		used += (u32)n;
	}
	if (limit > snaplen)
		r->truncated = 1;
	*total = sum > 0xffffffffu ? 0xffffffffu : (u32)sum;
	falco_record_close_param(r, used);
}

/* ---- process information (execve and clone families) ---- */

static s64 falco_ptid(struct task_struct *task)
{
	s64 ptid;

	rcu_read_lock();
	ptid = task_pid_nr(rcu_dereference(task->real_parent));
	rcu_read_unlock();
	return ptid;
}

/* argv[0] and argv[1..] of the current image, from the mm's argument area. */
static void falco_param_mm_args(struct falco_record *r, struct falco_scratch *s)
{
	struct mm_struct *mm = current->mm;
	unsigned long start, end, len;
	size_t exe_len;

	if (!mm) {
		falco_record_empty(r);
		falco_record_empty(r);
		return;
	}
	start = READ_ONCE(mm->arg_start);
	end = READ_ONCE(mm->arg_end);
	len = end > start ? end - start : 0;
	if (len > max_args_len) {
		len = max_args_len;
		r->truncated = 1;
	}
	if (!len || falco_copy_from_user_nofault(s->args, (const void __user *)start, len)) {
		if (len)
			r->p->drops_fault++;
		falco_record_empty(r);
		falco_record_empty(r);
		return;
	}
	s->args[len - 1] = 0;
	exe_len = strnlen(s->args, len);
	falco_record_bytes(r, s->args, (u32)exe_len + 1);
	falco_record_bytes(r, s->args + exe_len + 1, (u32)(len - exe_len - 1));
}

/* argv of a failed execve, from the syscall's argv array (the image did not change). */
static void falco_param_user_argv(struct falco_record *r, struct falco_scratch *s,
				  unsigned long uargv)
{
	const char __user *const __user *argv = (const char __user *const __user *)uargv;
	size_t used = 0, exe_len = 0;
	unsigned int i;

	for (i = 0; i < 1024 && used < max_args_len; i++) {
		const char __user *arg;
		long n;

		if (falco_copy_from_user_nofault(&arg, argv + i, sizeof(arg)) || !arg)
			break;
		n = falco_strncpy_from_user_nofault(s->args + used, arg, max_args_len - used);
		if (n < 0)
			break;
		if ((size_t)n >= max_args_len - used) {
			s->args[max_args_len - 1] = 0;
			used = max_args_len;
			r->truncated = 1;
			break;
		}
		used += n + 1;
		if (i == 0)
			exe_len = n;
	}
	if (!used) {
		falco_record_empty(r);
		falco_record_empty(r);
		return;
	}
	falco_record_bytes(r, s->args, (u32)exe_len + 1);
	falco_record_bytes(r, s->args + exe_len + 1, (u32)(used - exe_len - 1));
}

static void falco_param_env(struct falco_record *r, struct falco_scratch *s)
{
	struct mm_struct *mm = current->mm;
	unsigned long start, end, len;

	if (!mm) {
		falco_record_empty(r);
		return;
	}
	start = READ_ONCE(mm->env_start);
	end = READ_ONCE(mm->env_end);
	len = end > start ? end - start : 0;
	if (len > max_args_len) {
		len = max_args_len;
		r->truncated = 1;
	}
	if (!len || falco_copy_from_user_nofault(s->args, (const void __user *)start, len)) {
		if (len)
			r->p->drops_fault++;
		falco_record_empty(r);
		return;
	}
	falco_record_bytes(r, s->args, (u32)len);
}

static void falco_param_cwd(struct falco_record *r, struct falco_scratch *s)
{
	struct fs_struct *fs = current->fs;
	char *p;

	if (!fs) {
		falco_record_empty(r);
		return;
	}
	spin_lock(&fs->lock);
	p = d_path(&fs->pwd, s->path, PATH_MAX);
	spin_unlock(&fs->lock);
	if (IS_ERR(p))
		falco_record_empty(r);
	else
		falco_record_kstr(r, p, max_path_len);
}

/*
 * Cgroup membership as scap's NUL-separated "subsys=path" list. The default (v2)
 * hierarchy's path is reported under the controller names libsinsp looks at.
 */
static void falco_param_cgroups(struct falco_record *r, struct falco_scratch *s)
{
#ifdef FALCO_HAVE_CGROUP_PATH
	static const char *const names[] = { "cpuset", "cpu", "cpuacct", "memory", "pids" };
	struct cgroup *cgrp;
	u32 space, used = 0;
	unsigned int i;
	size_t plen;
	u8 *dst;
	int err;

	rcu_read_lock();
	cgrp = task_dfl_cgroup(current);
	err = cgrp ? kernfs_path_from_node(cgrp->kn, NULL, s->path, PATH_MAX) : -ENOENT;
	rcu_read_unlock();
	if (err < 0) {
		falco_record_empty(r);
		return;
	}
	plen = strnlen(s->path, PATH_MAX);
	dst = falco_record_reserve(r, FALCO_PARAM_MAX, &space);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		size_t nlen = strlen(names[i]);

		if (used + nlen + 1 + plen + 1 > space) {
			r->overflow = 1;
			return;
		}
		memcpy(dst + used, names[i], nlen);
		dst[used + nlen] = '=';
		memcpy(dst + used + nlen + 1, s->path, plen);
		dst[used + nlen + 1 + plen] = 0;
		used += (u32)(nlen + 1 + plen + 1);
	}
	falco_record_close_param(r, used);
#else
	falco_record_empty(r);
#endif
}

static u32 falco_tty(void)
{
	struct tty_struct *tty = NULL;
	unsigned long flags;
	u32 dev = 0;

	if (!current->sighand)
		return 0;
	spin_lock_irqsave(&current->sighand->siglock, flags);
	tty = current->signal ? current->signal->tty : NULL;
	if (tty && tty->driver)
		dev = new_encode_dev(MKDEV(tty->driver->major, tty->driver->minor_start) +
				     tty->index);
	spin_unlock_irqrestore(&current->sighand->siglock, flags);
	return dev;
}

/* Parameters 1..13 shared by the execve and clone families. */
static void falco_param_proc_head(struct falco_record *r, struct falco_scratch *s,
				  bool failed_exec, unsigned long uargv)
{
	struct mm_struct *mm = current->mm;
	char comm[TASK_COMM_LEN];

	if (failed_exec)
		falco_param_user_argv(r, s, uargv);
	else
		falco_param_mm_args(r, s);
	falco_param_i64(r, task_pid_nr(current));
	falco_param_i64(r, task_tgid_nr(current));
	falco_param_i64(r, falco_ptid(current));
	falco_param_cwd(r, s);
	falco_param_i64(r, (s64)task_rlimit(current, RLIMIT_NOFILE));
	falco_record_u64(r, current->maj_flt);
	falco_record_u64(r, current->min_flt);
	if (mm) {
		falco_record_u32(r, (u32)(mm->total_vm << (PAGE_SHIFT - 10)));
		falco_record_u32(r, (u32)(get_mm_rss(mm) << (PAGE_SHIFT - 10)));
		falco_record_u32(r, (u32)(get_mm_counter(mm, MM_SWAPENTS) << (PAGE_SHIFT - 10)));
	} else {
		falco_record_u32(r, 0);
		falco_record_u32(r, 0);
		falco_record_u32(r, 0);
	}
	memcpy(comm, current->comm, TASK_COMM_LEN);
	comm[TASK_COMM_LEN - 1] = 0;
	falco_record_kstr(r, comm, TASK_COMM_LEN);
	falco_param_cgroups(r, s);
}

static void falco_fill_exec(struct falco_record *r, struct falco_scratch *s,
			    unsigned long *args, long ret, bool is_execveat)
{
	const struct cred *cred = current_cred();
	struct file *exe = NULL;
	bool failed = ret < 0;
	s64 pgid, vpgid;
	kuid_t loginuid;

	falco_param_i64(r, ret);
	falco_param_proc_head(r, s, failed, is_execveat ? args[2] : args[1]);
	falco_param_env(r, s);
	falco_record_u32(r, falco_tty());
	rcu_read_lock();
	vpgid = pid_vnr(task_pgrp(current));
	pgid = pid_nr(task_pgrp(current));
	rcu_read_unlock();
	falco_param_i64(r, vpgid);
	loginuid = audit_get_loginuid(current);
	/* No login uid is UINT32_MAX in scap (from_kuid_munged would say 65534). */
	falco_record_u32(r, uid_valid(loginuid) ? from_kuid(&init_user_ns, loginuid) : 0xffffffffu);
	/* Exe flags (writable, overlay layers, memfd) need sleeping checks: not captured. */
	falco_record_empty(r);
	falco_record_u64(r, falco_cap_bits(cred->cap_inheritable));
	falco_record_u64(r, falco_cap_bits(cred->cap_permitted));
	falco_record_u64(r, falco_cap_bits(cred->cap_effective));
	if (current->mm)
		exe = falco_mm_exe_file(current->mm);
	if (exe) {
		struct inode *inode = file_inode(exe);

		falco_record_u64(r, inode->i_ino);
		falco_record_u64(r, falco_inode_ctime_ns(inode));
		falco_record_u64(r, falco_inode_mtime_ns(inode));
	} else {
		falco_record_empty(r);
		falco_record_empty(r);
		falco_record_empty(r);
	}
	falco_record_u32(r, from_kuid_munged(&init_user_ns, cred->euid));
	if (exe) {
		char *p = d_path(&exe->f_path, s->path, PATH_MAX);

		if (IS_ERR(p))
			falco_record_empty(r);
		else
			falco_record_kstr(r, p, max_path_len);
		fput(exe);
	} else {
		falco_record_empty(r);
	}
	falco_param_i64(r, pgid);
	falco_record_u32(r, from_kgid_munged(&init_user_ns, cred->egid));
	if (!is_execveat) {
		/* filename: still readable after a failed exec; gone with the old image. */
		if (failed)
			falco_param_path(r, args[0]);
		else
			falco_record_empty(r);
	}
}

static void falco_fill_clone(struct falco_record *r, struct falco_scratch *s,
			     unsigned long *args, long ret, int fill)
{
	const struct cred *cred = current_cred();
	u64 flags = 0;

	switch (fill) {
	case FILL_CLONE:
		flags = args[0];
		break;
	case FILL_VFORK:
		flags = CLONE_VFORK | CLONE_VM;
		break;
	case FILL_CLONE3:
		/* struct clone_args starts with the u64 flags. */
		if (args[0] && falco_copy_from_user_nofault(&flags, (const void __user *)args[0],
							     sizeof(flags)))
			flags = 0;
		break;
	default:
		break;
	}
	falco_param_i64(r, ret);
	falco_param_proc_head(r, s, false, 0);
	falco_record_u32(r, falco_clone_flags(flags));
	falco_record_u32(r, from_kuid_munged(&init_user_ns, cred->euid));
	falco_record_u32(r, from_kgid_munged(&init_user_ns, cred->egid));
	falco_param_i64(r, task_pid_vnr(current));
	falco_param_i64(r, task_tgid_vnr(current));
	falco_record_empty(r); /* pidns_init_start_ts: not captured */
}

static void falco_fill_open(struct falco_record *r, unsigned long *args, long ret, int fill)
{
	unsigned long flags = 0, mode = 0, resolve = 0;
	struct file *file;
	int path_arg = 0;
	u32 ppm_flags;

	switch (fill) {
	case FILL_OPEN:
		flags = args[1];
		mode = args[2];
		break;
	case FILL_OPENAT:
		flags = args[2];
		mode = args[3];
		path_arg = 1;
		break;
	case FILL_OPENAT2: {
		u64 how[3] = { 0, 0, 0 }; /* struct open_how: flags, mode, resolve */

		if (args[2] && falco_copy_from_user_nofault(how, (const void __user *)args[2],
							    sizeof(how)))
			r->p->drops_fault++;
		flags = how[0];
		mode = how[1];
		resolve = how[2];
		path_arg = 1;
		break;
	}
	default:
		break;
	}
	/* One fget for both the created flag and dev/ino: open is the hottest record. */
	file = falco_result_file(ret);
	ppm_flags = falco_open_flags(flags);
	if (file && falco_file_created(file))
		ppm_flags |= 0x4000; /* PPM_O_F_CREATED */
	falco_param_i64(r, ret);
	if (path_arg)
		falco_param_i64(r, (int)args[0]);
	falco_param_path(r, args[path_arg]);
	falco_record_u32(r, ppm_flags);
	falco_record_u32(r, falco_open_creates(flags) ? (u32)(mode & 07777) : 0);
	if (fill == FILL_OPENAT2)
		falco_record_u32(r, (u32)resolve); /* RESOLVE_* values equal the PPM ones */
	falco_param_file_ids(r, file);
	if (file)
		fput(file);
}

static void falco_fill_generic(struct falco_record *r, const struct falco_syscall *sc,
			       unsigned long *args, long ret)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sc->ops) && sc->ops[i]; i++) {
		unsigned long a = args[OP_ARG(sc->ops[i])];

		switch (OP_KIND(sc->ops[i])) {
		case OP_RES:
			falco_param_i64(r, ret);
			break;
		case OP_FD:
			falco_param_i64(r, (int)a);
			break;
		case OP_PATH:
			falco_param_path(r, a);
			break;
		case OP_U32:
			falco_record_u32(r, (u32)a);
			break;
		case OP_I32:
			falco_record_u32(r, (u32)(int)a);
			break;
		case OP_MODE:
			falco_record_u32(r, (u32)(a & 07777));
			break;
		case OP_FCHOWNAT_FLAGS:
			falco_record_u32(r, ((a & AT_SYMLINK_NOFOLLOW) ? 0x400 : 0) |
					    ((a & AT_EMPTY_PATH) ? 0x1000 : 0));
			break;
		case OP_MOUNT_FLAGS:
			if ((a & MS_MGC_MSK) == MS_MGC_VAL)
				a &= ~MS_MGC_MSK;
			falco_record_u32(r, (u32)a);
			break;
		case OP_U8:
			falco_record_u8(r, (u8)a);
			break;
		case OP_U16:
			falco_record_u16(r, (u16)a);
			break;
		case OP_CLONE_FLAGS:
			falco_record_u32(r, falco_clone_flags(a));
			break;
		case OP_FD_FLAGS32:
			falco_record_u32(r, falco_fd_flags(a));
			break;
		case OP_FD_FLAGS16:
			falco_record_u16(r, (u16)falco_fd_flags(a));
			break;
		case OP_FCNTL_CMD:
			falco_record_u8(r, falco_fcntl_cmd(a));
			break;
		default:
			falco_record_empty(r);
			break;
		}
	}
}

static unsigned int falco_generic_nparams(const struct falco_syscall *sc)
{
	unsigned int n = 0;

	while (n < ARRAY_SIZE(sc->ops) && sc->ops[n])
		n++;
	return n;
}

static unsigned int falco_nparams(const struct falco_syscall *sc)
{
	switch (sc->fill) {
	case FILL_OPEN:
		return 6;
	case FILL_OPENAT:
		return 7;
	case FILL_OPENAT2:
		return 8;
	case FILL_CREAT:
		return 6;
	case FILL_EXECVE:
		return 31;
	case FILL_EXECVEAT:
		return 30;
	case FILL_CLONE:
	case FILL_FORK:
	case FILL_VFORK:
	case FILL_CLONE3:
		return 21;
	case FILL_SOCKET:
		return 5;
	case FILL_CONNECT:
		return 4;
	case FILL_BIND:
		return 3;
	case FILL_ACCEPT:
		return 5;
	case FILL_ACCEPT4:
		return 6;
	case FILL_PTRACE:
		return 5;
	case FILL_READ:
	case FILL_WRITE:
		return 4;
	case FILL_DUP3:
		return 4;
	case FILL_PIPE:
		return 4;
	case FILL_PIPE2:
	case FILL_SOCKETPAIR:
	case FILL_SENDTO:
	case FILL_RECVFROM:
	case FILL_SENDMSG:
		return 5;
	case FILL_RECVMSG:
		return 6;
	default:
		return falco_generic_nparams(sc);
	}
}

static void falco_fill_accept(struct falco_record *r, unsigned long *args, long ret, bool four)
{
	struct socket *sock;
	struct file *file;
	u32 queuelen = 0, queuemax = 0;
	u8 pct = 0;

	falco_param_i64(r, ret);
	if (ret >= 0)
		falco_param_socktuple(r, ret, true);
	else
		falco_record_empty(r);
	file = fget((unsigned int)args[0]);
	sock = file ? falco_sock_from_file(file) : NULL;
	if (sock && sock->sk) {
		queuelen = READ_ONCE(sock->sk->sk_ack_backlog);
		queuemax = READ_ONCE(sock->sk->sk_max_ack_backlog);
		if (queuemax)
			pct = (u8)(queuelen * 100 / queuemax);
	}
	if (file)
		fput(file);
	falco_record_u8(r, pct);
	falco_record_u32(r, queuelen);
	falco_record_u32(r, queuemax);
	if (four)
		falco_record_u32(r, (u32)args[3]);
}

/* The two fds a successful pipe/pipe2/socketpair wrote to user memory. */
static bool falco_fd_pair(struct falco_record *r, unsigned long uptr, long ret, int fds[2])
{
	fds[0] = -1;
	fds[1] = -1;
	if (ret < 0 || !uptr)
		return false;
	if (falco_copy_from_user_nofault(fds, (const void __user *)uptr, 2 * sizeof(int))) {
		r->p->drops_fault++;
		return false;
	}
	return true;
}

static void falco_fill_pipe(struct falco_record *r, unsigned long *args, long ret, bool two)
{
	struct file *file;
	u64 ino = 0;
	int fds[2];

	falco_param_i64(r, ret);
	if (falco_fd_pair(r, args[0], ret, fds)) {
		falco_param_i64(r, fds[0]);
		falco_param_i64(r, fds[1]);
		file = fget((unsigned int)fds[0]);
		if (file) {
			ino = file_inode(file)->i_ino;
			fput(file);
		}
		falco_record_u64(r, ino);
	} else {
		falco_record_empty(r);
		falco_record_empty(r);
		falco_record_empty(r);
	}
	if (two)
		falco_record_u32(r, falco_fd_flags(args[1]));
}

/* The socket behind `fd`, as the hidden identity unix tuples use (0 if none). */
static u64 falco_sock_id(long fd)
{
	struct file *file = fd >= 0 ? fget((unsigned int)fd) : NULL;
	struct socket *sock;
	u64 id = 0;

	if (!file)
		return 0;
	sock = falco_sock_from_file(file);
	if (sock)
		id = falco_hide_pointer(sock->sk);
	fput(file);
	return id;
}

static void falco_fill_socketpair(struct falco_record *r, unsigned long *args, long ret)
{
	int fds[2];

	falco_param_i64(r, ret);
	if (falco_fd_pair(r, args[3], ret, fds)) {
		falco_param_i64(r, fds[0]);
		falco_param_i64(r, fds[1]);
		/* The pair's sockets are each other's peers. */
		falco_record_u64(r, falco_sock_id(fds[0]));
		falco_record_u64(r, falco_sock_id(fds[1]));
	} else {
		falco_record_empty(r);
		falco_record_empty(r);
		falco_record_empty(r);
		falco_record_empty(r);
	}
}

/* sendto(fd, buf, len, flags, dest, addrlen): res, data, fd, size, tuple. */
static void falco_fill_sendto(struct falco_record *r, unsigned long *args, long ret)
{
	u32 snaplen = READ_ONCE(falco_snaplen);
	unsigned long n = args[2];
	struct sockaddr_storage ss;
	bool have_dest;

	if (ret < 0)
		n = 0;
	else if ((unsigned long)ret < n)
		n = (unsigned long)ret;
	falco_param_i64(r, ret);
	falco_record_ubuf(r, (const void __user *)args[1], n > 65535 ? 65535 : (u32)n, snaplen);
	falco_param_i64(r, (int)args[0]);
	falco_record_u32(r, (u32)args[2]);
	have_dest = falco_copy_sockaddr(r, args[4], args[5], &ss);
	falco_param_socktuple_to(r, (int)args[0], false, have_dest ? &ss : NULL);
}

/* recvfrom(fd, buf, len, flags, src, addrlen *): res, data, tuple, fd, size. */
static void falco_fill_recvfrom(struct falco_record *r, unsigned long *args, long ret)
{
	u32 snaplen = READ_ONCE(falco_snaplen);
	unsigned long n = ret > 0 ? (unsigned long)ret : 0;
	struct sockaddr_storage ss;
	bool have_src = false;
	int alen = 0;

	falco_param_i64(r, ret);
	falco_record_ubuf(r, (const void __user *)args[1], n > 65535 ? 65535 : (u32)n, snaplen);
	if (ret >= 0 && args[4] && args[5] &&
	    !falco_copy_from_user_nofault(&alen, (const void __user *)args[5], sizeof(alen)) &&
	    alen > 0)
		have_src = falco_copy_sockaddr(r, args[4], (unsigned long)alen, &ss);
	falco_param_socktuple_to(r, (int)args[0], true, have_src ? &ss : NULL);
	falco_param_i64(r, (int)args[0]);
	falco_record_u32(r, (u32)args[2]);
}

static bool falco_copy_msghdr(struct falco_record *r, unsigned long uptr,
			      struct falco_user_msghdr *msg)
{
	memset(msg, 0, sizeof(*msg));
	if (!uptr)
		return false;
	if (falco_copy_from_user_nofault(msg, (const void __user *)uptr, sizeof(*msg))) {
		r->p->drops_fault++;
		return false;
	}
	return true;
}

/* sendmsg(fd, msg, flags): res, data, fd, size, tuple. */
static void falco_fill_sendmsg(struct falco_record *r, unsigned long *args, long ret)
{
	struct falco_user_msghdr msg;
	struct sockaddr_storage ss;
	bool have_msg, have_dest = false;
	u32 size = 0;

	have_msg = falco_copy_msghdr(r, args[1], &msg);
	falco_param_i64(r, ret);
	if (have_msg)
		falco_param_iovec(r, msg.msg_iov, msg.msg_iovlen,
				  ret > 0 ? (unsigned long)ret : 0, &size);
	else
		falco_record_empty(r);
	falco_param_i64(r, (int)args[0]);
	falco_record_u32(r, size);
	if (have_msg && msg.msg_name && msg.msg_namelen > 0)
		have_dest = falco_copy_sockaddr(r, (unsigned long)msg.msg_name,
						(unsigned long)msg.msg_namelen, &ss);
	falco_param_socktuple_to(r, (int)args[0], false, have_dest ? &ss : NULL);
}

/* recvmsg(fd, msg, flags): res, size, data, tuple, msgcontrol, fd. */
static void falco_fill_recvmsg(struct falco_record *r, unsigned long *args, long ret)
{
	struct falco_user_msghdr msg;
	struct sockaddr_storage ss;
	bool have_msg, have_src = false;
	u32 size = 0, space;
	u8 *size_at;

	have_msg = falco_copy_msghdr(r, args[1], &msg);
	falco_param_i64(r, ret);
	/* size comes before data but is only known after walking the iovecs: fill it in. */
	size_at = falco_record_reserve(r, 4, &space);
	falco_record_u32(r, 0);
	if (have_msg)
		falco_param_iovec(r, msg.msg_iov, msg.msg_iovlen,
				  ret > 0 ? (unsigned long)ret : 0, &size);
	else
		falco_record_empty(r);
	if (!r->overflow && space >= 4)
		falco_put_u32(size_at, size);
	/* After the call msg_namelen is the length of the sender's address. */
	if (have_msg && ret >= 0 && msg.msg_name && msg.msg_namelen > 0)
		have_src = falco_copy_sockaddr(r, (unsigned long)msg.msg_name,
					       (unsigned long)msg.msg_namelen, &ss);
	falco_param_socktuple_to(r, (int)args[0], true, have_src ? &ss : NULL);
	falco_record_empty(r); /* msgcontrol: not captured */
	falco_param_i64(r, (int)args[0]);
}

static void falco_fill_special(struct falco_record *r, struct falco_scratch *s,
			       const struct falco_syscall *sc, unsigned long *args, long ret)
{
	switch (sc->fill) {
	case FILL_OPEN:
	case FILL_OPENAT:
	case FILL_OPENAT2:
		falco_fill_open(r, args, ret, sc->fill);
		break;
	case FILL_CREAT: {
		struct file *file = falco_result_file(ret);

		falco_param_i64(r, ret);
		falco_param_path(r, args[0]);
		falco_record_u32(r, (u32)(args[1] & 07777));
		falco_param_file_ids(r, file);
		if (file)
			fput(file);
		falco_record_u16(r, 0); /* creat_flags: overlay layers not captured */
		break;
	}
	case FILL_EXECVE:
	case FILL_EXECVEAT:
		falco_fill_exec(r, s, args, ret, sc->fill == FILL_EXECVEAT);
		break;
	case FILL_CLONE:
	case FILL_FORK:
	case FILL_VFORK:
	case FILL_CLONE3:
		falco_fill_clone(r, s, args, ret, sc->fill);
		break;
	case FILL_SOCKET: {
		u32 flags = 0;

		if (args[1] & SOCK_NONBLOCK)
			flags |= 64;
		if (args[1] & SOCK_CLOEXEC)
			flags |= 4096;
		falco_param_i64(r, ret);
		falco_record_u32(r, (u32)args[0]); /* PPM_AF_* equal Linux AF_* */
		falco_record_u32(r, (u32)args[1]);
		falco_record_u32(r, (u32)args[2]);
		falco_record_u32(r, flags);
		break;
	}
	case FILL_CONNECT:
		falco_param_i64(r, ret);
		falco_param_socktuple(r, (int)args[0], false);
		falco_param_i64(r, (int)args[0]);
		falco_param_sockaddr(r, args[1], args[2]);
		break;
	case FILL_BIND:
		falco_param_i64(r, ret);
		falco_param_sockaddr(r, args[1], args[2]);
		falco_param_i64(r, (int)args[0]);
		break;
	case FILL_ACCEPT:
	case FILL_ACCEPT4:
		falco_fill_accept(r, args, ret, sc->fill == FILL_ACCEPT4);
		break;
	case FILL_PTRACE: {
		u8 dyn[9] = { 0 }; /* PT_DYN index 0 = UINT64 */

		falco_param_i64(r, ret);
		falco_put_u64(dyn + 1, args[2]);
		falco_record_bytes(r, dyn, sizeof(dyn));
		falco_put_u64(dyn + 1, args[3]);
		falco_record_bytes(r, dyn, sizeof(dyn));
		falco_record_u16(r, falco_ptrace_request((long)args[0]));
		falco_param_i64(r, (int)args[1]);
		break;
	}
	case FILL_READ:
	case FILL_WRITE: {
		u32 snaplen = READ_ONCE(falco_snaplen);
		unsigned long n = sc->fill == FILL_READ ? (ret > 0 ? (unsigned long)ret : 0) :
			       args[2];

		falco_param_i64(r, ret);
		if (sc->fill == FILL_WRITE && ret >= 0 && (unsigned long)ret < n)
			n = (unsigned long)ret;
		if (sc->fill == FILL_WRITE && ret < 0)
			n = 0;
		falco_record_ubuf(r, (const void __user *)args[1], n > 65535 ? 65535 : (u32)n,
				  snaplen);
		falco_param_i64(r, (int)args[0]);
		falco_record_u32(r, (u32)args[2]);
		break;
	}
	case FILL_DUP3: {
		falco_param_i64(r, ret);
		falco_param_i64(r, (int)args[0]);
		falco_param_i64(r, (int)args[1]);
		falco_record_u32(r, (args[2] & O_CLOEXEC) ? 4096 : 0);
		break;
	}
	case FILL_PIPE:
	case FILL_PIPE2:
		falco_fill_pipe(r, args, ret, sc->fill == FILL_PIPE2);
		break;
	case FILL_SOCKETPAIR:
		falco_fill_socketpair(r, args, ret);
		break;
	case FILL_SENDTO:
		falco_fill_sendto(r, args, ret);
		break;
	case FILL_RECVFROM:
		falco_fill_recvfrom(r, args, ret);
		break;
	case FILL_SENDMSG:
		falco_fill_sendmsg(r, args, ret);
		break;
	case FILL_RECVMSG:
		falco_fill_recvmsg(r, args, ret);
		break;
	default:
		falco_fill_generic(r, sc, args, ret);
		break;
	}
}

/* ---- timestamps ---- */

/*
 * Record timestamps are wall-clock nanoseconds, and the reader merges the per-CPU rings by
 * them, so they must agree across CPUs: a thread that moves to another CPU must not get an
 * earlier timestamp there. Two clocks:
 *
 * - the scheduler clock (local_clock: the TSC) plus one global offset to the wall clock,
 *   refreshed every FALCO_CLOCK_RESYNC_NS by the first CPU that finds it stale (NTP slews
 *   the wall clock, not the scheduler clock; a settimeofday step shows within a period).
 *   Cheap, but it agrees across CPUs only where the kernel keeps the scheduler clock
 *   stable (falco_sched_clock_stable); elsewhere each CPU's clock is its own, kept near
 *   the wall clock only at ticks, and CPUs differ by up to a tick.
 * - the wall clock per record (falco_wall_fast_ns): one timekeeper for all CPUs. As cheap
 *   as the TSC where the clocksource is the TSC or a paravirt clock, but where the kernel
 *   distrusts the TSC the clocksource is a device (HPET, ACPI PM timer) and every record
 *   pays an uncached device read (in the TCG benchmark VM ~150 ns a record, 2 % of an
 *   open+read+close).
 *
 * timestamp_clock=auto takes the scheduler clock while the kernel calls it stable (checked
 * when capture starts and at every refresh: the TSC can be marked unstable at run time);
 * sched and wall force one (benchmarks). One offset for all CPUs: per-CPU offsets taken at
 * different moments would disagree by the clocks' drift. A refresh moves the offset by the
 * drift over one period (well under a microsecond), and per CPU a timestamp is held at the
 * last one rather than go back by less than a period; a wall clock step back goes back.
 */
#define FALCO_CLOCK_RESYNC_NS (1000 * 1000)

enum falco_clock_kind { FALCO_CLOCK_AUTO, FALCO_CLOCK_SCHED, FALCO_CLOCK_WALL };

static enum falco_clock_kind falco_clock_kind;  /* timestamp_clock, parsed at load */
static bool falco_clock_use_sched;              /* read by the probes */
static atomic64_t falco_clock_synced_at;        /* local_clock() at the last refresh */
static atomic64_t falco_clock_offset;           /* wall clock - local_clock() then */
static DEFINE_PER_CPU(u64, falco_clock_last);   /* the last timestamp handed out */

static bool falco_clock_want_sched(void)
{
	return falco_clock_kind == FALCO_CLOCK_SCHED ||
	       (falco_clock_kind == FALCO_CLOCK_AUTO && falco_sched_clock_stable());
}

/* Before capture is enabled: the probes never see an offset that was not set. */
static void falco_clock_start(void)
{
	u64 local;
	s64 offset;

	preempt_disable();
	local = local_clock();
	offset = (s64)(falco_wall_fast_ns() - local);
	preempt_enable();
	atomic64_set(&falco_clock_offset, offset);
	atomic64_set(&falco_clock_synced_at, (s64)local);
	WRITE_ONCE(falco_clock_use_sched, falco_clock_want_sched());
}

static u64 falco_sched_timestamp(void)
{
	u64 local = local_clock();
	s64 synced = atomic64_read(&falco_clock_synced_at);

	if (unlikely((s64)(local - (u64)synced) >= FALCO_CLOCK_RESYNC_NS) &&
	    atomic64_cmpxchg(&falco_clock_synced_at, synced, (s64)local) == synced) {
		if (!falco_clock_want_sched()) {
			WRITE_ONCE(falco_clock_use_sched, false);
			return falco_wall_fast_ns();
		}
		atomic64_set(&falco_clock_offset, (s64)(falco_wall_fast_ns() - local));
	}
	return local + (u64)atomic64_read(&falco_clock_offset);
}

/* Preemption disabled (the per-CPU last value belongs to the running probe). */
static u64 falco_timestamp(void)
{
	u64 *last = this_cpu_ptr(&falco_clock_last);
	u64 ts;

	ts = READ_ONCE(falco_clock_use_sched) ? falco_sched_timestamp() : falco_wall_fast_ns();
	if (unlikely(ts < *last) && *last - ts < FALCO_CLOCK_RESYNC_NS)
		ts = *last;
	*last = ts;
	return ts;
}

/* ---- probes ---- */

/* After publishing a record: wake the reader if it sleeps in poll (see struct falco_ring). */
static void falco_wake_reader(struct falco_ring *ring)
{
	/* Orders the head store before the `waiting` load; pairs with falco_poll's barrier. */
	smp_mb();
	if (READ_ONCE(ring->waiting)) {
		WRITE_ONCE(ring->waiting, 0);
		irq_work_queue(&ring->wakeup);
	}
}

static void falco_wakeup_work(struct irq_work *work)
{
	struct falco_ring *ring = container_of(work, struct falco_ring, wakeup);

	wake_up_all(&ring->wq);
}

static void falco_sys_exit_probe(void *data, struct pt_regs *regs, long ret)
{
	const struct falco_syscall *sc;
	struct falco_record r;
	unsigned long args[6];
	struct falco_ring *ring;
	unsigned int cpu;
	long nr;

	if (!READ_ONCE(falco_capture) || falco_in_compat_syscall())
		return;
	nr = syscall_get_nr(current, regs);
	if (nr < 0 || nr >= FALCO_NR_SYSCALLS)
		return;
	sc = &falco_syscalls[nr];
	if (!sc->event || !test_bit(sc->event, falco_interest))
		return;
	falco_syscall_args(regs, args);

	preempt_disable();
	cpu = smp_processor_id();
	if (cpu < falco_nr_rings) {
		ring = &falco_rings[cpu];
		if (!falco_record_begin(&r, &ring->producer, sc->event, falco_nparams(sc),
					falco_timestamp(), task_pid_nr(current))) {
			if (sc->fill == FILL_GENERIC)
				falco_fill_generic(&r, sc, args, ret);
			else
				falco_fill_special(&r, &falco_scratch[cpu], sc, args, ret);
			if (!falco_record_commit(&r))
				falco_wake_reader(ring);
		}
	}
	preempt_enable();
}

static void falco_proc_exit_probe(void *data, struct task_struct *p)
{
	struct falco_record r;
	struct falco_ring *ring;
	unsigned int cpu;
	int code;

	if (!READ_ONCE(falco_capture) || !test_bit(EV_PROCEXIT_1_E, falco_interest))
		return;
	code = p->exit_code;
	preempt_disable();
	cpu = smp_processor_id();
	if (cpu < falco_nr_rings) {
		ring = &falco_rings[cpu];
		if (!falco_record_begin(&r, &ring->producer, EV_PROCEXIT_1_E, 5, falco_timestamp(),
					task_pid_nr(p))) {
			falco_param_i64(&r, code);
			falco_param_i64(&r, (code >> 8) & 0xff);
			falco_record_u8(&r, (u8)(code & 0x7f));
			falco_record_u8(&r, (code & 0x80) ? 1 : 0);
			falco_param_i64(&r, 0); /* reaper_tid: not captured */
			if (!falco_record_commit(&r))
				falco_wake_reader(ring);
		}
	}
	preempt_enable();
}

#ifdef FALCO_TRACEPOINT_BY_STRUCT
static void falco_find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_exit"))
		falco_tp_sys_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		falco_tp_proc_exit = tp;
}
#endif

static int falco_probes_register(void)
{
	int err;

#ifdef FALCO_TRACEPOINT_BY_STRUCT
	if (!falco_tp_sys_exit || !falco_tp_proc_exit)
		return -ENOENT;
	err = tracepoint_probe_register(falco_tp_sys_exit, (void *)falco_sys_exit_probe, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(falco_tp_proc_exit, (void *)falco_proc_exit_probe, NULL);
	if (err) {
		tracepoint_probe_unregister(falco_tp_sys_exit, (void *)falco_sys_exit_probe, NULL);
		tracepoint_synchronize_unregister();
	}
#else
	err = tracepoint_probe_register("sys_exit", (void *)falco_sys_exit_probe, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register("sched_process_exit", (void *)falco_proc_exit_probe, NULL);
	if (err) {
		tracepoint_probe_unregister("sys_exit", (void *)falco_sys_exit_probe, NULL);
		tracepoint_synchronize_unregister();
	}
#endif
	return err;
}

static void falco_probes_unregister(void)
{
#ifdef FALCO_TRACEPOINT_BY_STRUCT
	tracepoint_probe_unregister(falco_tp_sys_exit, (void *)falco_sys_exit_probe, NULL);
	tracepoint_probe_unregister(falco_tp_proc_exit, (void *)falco_proc_exit_probe, NULL);
#else
	tracepoint_probe_unregister("sys_exit", (void *)falco_sys_exit_probe, NULL);
	tracepoint_probe_unregister("sched_process_exit", (void *)falco_proc_exit_probe, NULL);
#endif
	/* No probe may still be writing once this returns. */
	tracepoint_synchronize_unregister();
}

/*
 * Under falco_lock. The probes stay attached from load to unload (attaching patches kernel
 * text and walks every thread; doing it once keeps enable/disable cheap and safe to
 * repeat); capture is the flag they test first.
 */
static int falco_set_capture(bool on)
{
	if (on)
		falco_clock_start();
	WRITE_ONCE(falco_capture, on);
	return 0;
}

/* ---- devices ---- */

static int falco_open(struct inode *inode, struct file *filp)
{
	unsigned int minor = iminor(inode);
	struct falco_ring *ring;

	if (minor >= falco_nr_rings)
		return -ENODEV;
	ring = &falco_rings[minor];
	if (atomic_cmpxchg(&ring->open, 0, 1) != 0)
		return -EBUSY;
	filp->private_data = ring;
	mutex_lock(&falco_lock);
	falco_open_devices++;
	mutex_unlock(&falco_lock);
	return 0;
}

static int falco_release(struct inode *inode, struct file *filp)
{
	struct falco_ring *ring = filp->private_data;

	mutex_lock(&falco_lock);
	if (--falco_open_devices == 0) {
		/* A reader's configuration ends with it: the next one starts from the defaults. */
		falco_set_capture(false);
		bitmap_zero(falco_interest, FALCO_INTEREST_BITS);
		WRITE_ONCE(falco_snaplen, FALCO_SNAPLEN_DEFAULT);
	}
	mutex_unlock(&falco_lock);
	atomic_set(&ring->open, 0);
	return 0;
}

static long falco_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct falco_ring *ring = filp->private_data;
	void __user *uarg = (void __user *)arg;
	long err = 0;

	switch (cmd) {
	case FALCO_IOCTL_API_VERSION: {
		u32 v = FALCO_API_VERSION;

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case FALCO_IOCTL_ENABLE:
	case FALCO_IOCTL_DISABLE:
		mutex_lock(&falco_lock);
		err = falco_set_capture(cmd == FALCO_IOCTL_ENABLE);
		mutex_unlock(&falco_lock);
		return err;
	case FALCO_IOCTL_SET_INTEREST: {
		struct falco_interest in;
		unsigned int i;

		if (copy_from_user(&in, uarg, sizeof(in)))
			return -EFAULT;
		for (i = 0; i < FALCO_INTEREST_BITS; i++)
			if ((in.bits[i / 64] >> (i % 64) & 1) && !test_bit(i, falco_supported))
				return -EINVAL;
		for (i = 0; i < FALCO_INTEREST_BITS; i++) {
			if (in.bits[i / 64] >> (i % 64) & 1)
				set_bit(i, falco_interest);
			else
				clear_bit(i, falco_interest);
		}
		return 0;
	}
	case FALCO_IOCTL_SUPPORTED: {
		struct falco_interest out;
		unsigned int i;

		memset(&out, 0, sizeof(out));
		for (i = 0; i < FALCO_INTEREST_BITS; i++)
			if (test_bit(i, falco_supported))
				out.bits[i / 64] |= 1ull << (i % 64);
		return copy_to_user(uarg, &out, sizeof(out)) ? -EFAULT : 0;
	}
	case FALCO_IOCTL_SET_SNAPLEN: {
		u32 v;

		if (copy_from_user(&v, uarg, sizeof(v)))
			return -EFAULT;
		if (v == 0 || v > FALCO_SNAPLEN_MAX)
			return -EINVAL;
		WRITE_ONCE(falco_snaplen, v);
		return 0;
	}
	case FALCO_IOCTL_STATS: {
		struct falco_stats st;
		struct falco_ring_producer *prod = ring->producer.prod;

		memset(&st, 0, sizeof(st));
		st.events = READ_ONCE(prod->events);
		st.drops_full = READ_ONCE(prod->drops_full);
		st.drops_fault = READ_ONCE(prod->drops_fault);
		st.truncated = READ_ONCE(prod->truncated);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	case FALCO_IOCTL_RING_INFO: {
		struct falco_ring_info info;

		memset(&info, 0, sizeof(info));
		info.data_size = ring->producer.data_size;
		info.page_size = PAGE_SIZE;
		info.cpu = ring->cpu;
		info.nr_devices = falco_nr_rings;
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}
	default:
		return -ENOTTY;
	}
}

/* Readable when the ring holds records the reader has not consumed. */
static falco_poll_t falco_poll(struct file *filp, poll_table *wait)
{
	struct falco_ring *ring = filp->private_data;
	struct falco_producer *p = &ring->producer;

	poll_wait(filp, &ring->wq, wait);
	WRITE_ONCE(ring->waiting, 1);
	/* Orders the `waiting` store before the head load; pairs with falco_wake_reader. */
	smp_mb();
	if (smp_load_acquire(&p->prod->head) != READ_ONCE(p->cons->tail))
		return FALCO_POLLIN;
	return 0;
}

static int falco_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct falco_ring *ring = filp->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long data_len = ring->producer.data_size;

	if (vma->vm_pgoff == 0) {
		/* The consumer page: the reader writes its tail here. */
		if (len != PAGE_SIZE)
			return -EINVAL;
	} else if (vma->vm_pgoff == 1) {
		/* Producer page and the twice-mapped data: never writable by the reader. */
		if (len != PAGE_SIZE + 2 * data_len)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		falco_vma_make_readonly(vma);
	} else {
		return -EINVAL;
	}
	return remap_vmalloc_range(vma, ring->vaddr, vma->vm_pgoff);
}

static const struct file_operations falco_fops = {
	.owner = THIS_MODULE,
	.open = falco_open,
	.release = falco_release,
	.unlocked_ioctl = falco_ioctl,
	.mmap = falco_mmap,
	.poll = falco_poll,
	.llseek = noop_llseek,
};

static char *falco_devnode(FALCO_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return NULL;
}

/* ---- setup ---- */

static void falco_ring_free(struct falco_ring *ring)
{
	unsigned int i, nr_unique;

	if (ring->vaddr)
		vunmap(ring->vaddr);
	if (ring->pages) {
		/* pages[] lists the data pages twice; free each once. */
		nr_unique = 2 + (ring->nr_pages - 2) / 2;
		for (i = 0; i < nr_unique; i++)
			if (ring->pages[i])
				__free_page(ring->pages[i]);
		vfree(ring->pages);
	}
	ring->vaddr = NULL;
	ring->pages = NULL;
}

static int falco_ring_alloc(struct falco_ring *ring, unsigned int cpu)
{
	unsigned int nr_data = ring_bytes >> PAGE_SHIFT, i;
	struct falco_ring_producer *prod;
	int node = cpu_to_node(cpu);

	ring->cpu = cpu;
	atomic_set(&ring->open, 0);
	ring->waiting = 0;
	init_waitqueue_head(&ring->wq);
	init_irq_work(&ring->wakeup, falco_wakeup_work);
	ring->nr_pages = 2 + 2 * nr_data;
	ring->pages = vzalloc(ring->nr_pages * sizeof(*ring->pages));
	if (!ring->pages)
		return -ENOMEM;
	for (i = 0; i < 2 + nr_data; i++) {
		ring->pages[i] = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
		if (!ring->pages[i])
			return -ENOMEM;
	}
	for (i = 0; i < nr_data; i++)
		ring->pages[2 + nr_data + i] = ring->pages[2 + i];
	ring->vaddr = vmap(ring->pages, ring->nr_pages, VM_MAP | VM_USERMAP, PAGE_KERNEL);
	if (!ring->vaddr)
		return -ENOMEM;
	prod = ring->vaddr + PAGE_SIZE;
	prod->data_size = ring_bytes;
	prod->page_size = PAGE_SIZE;
	prod->cpu = cpu;
	prod->api_version = FALCO_API_VERSION;
	falco_producer_init(&ring->producer, ring->vaddr, prod, ring->vaddr + 2 * PAGE_SIZE,
			    ring_bytes);
	return 0;
}

static void falco_free_all(void)
{
	unsigned int i;

	if (falco_rings) {
		/* No producer runs any more; a wakeup may still be queued. */
		for (i = 0; i < falco_nr_rings; i++)
			if (falco_rings[i].pages)
				irq_work_sync(&falco_rings[i].wakeup);
		for (i = 0; i < falco_nr_rings; i++)
			falco_ring_free(&falco_rings[i]);
		kfree(falco_rings);
		falco_rings = NULL;
	}
	if (falco_scratch) {
		for (i = 0; i < falco_nr_rings; i++) {
			kfree(falco_scratch[i].args);
			kfree(falco_scratch[i].path);
		}
		kfree(falco_scratch);
		falco_scratch = NULL;
	}
}

static bool falco_params_valid(void)
{
	if (ring_bytes < FALCO_RING_MIN_BYTES || ring_bytes > FALCO_RING_MAX_BYTES ||
	    (ring_bytes & (ring_bytes - 1)) || ring_bytes < 2 * PAGE_SIZE) {
		pr_err("ring_bytes=%u: must be a power of two in [%u, %u]\n", ring_bytes,
		       FALCO_RING_MIN_BYTES, FALCO_RING_MAX_BYTES);
		return false;
	}
	if (max_path_len < 64 || max_path_len > FALCO_SNAPLEN_MAX) {
		pr_err("max_path_len=%u: must be in [64, %u]\n", max_path_len, FALCO_SNAPLEN_MAX);
		return false;
	}
	if (max_args_len < 64 || max_args_len > FALCO_SNAPLEN_MAX) {
		pr_err("max_args_len=%u: must be in [64, %u]\n", max_args_len, FALCO_SNAPLEN_MAX);
		return false;
	}
	if (timestamp_clock && !strcmp(timestamp_clock, "auto")) {
		falco_clock_kind = FALCO_CLOCK_AUTO;
	} else if (timestamp_clock && !strcmp(timestamp_clock, "sched")) {
		falco_clock_kind = FALCO_CLOCK_SCHED;
	} else if (timestamp_clock && !strcmp(timestamp_clock, "wall")) {
		falco_clock_kind = FALCO_CLOCK_WALL;
	} else {
		pr_err("timestamp_clock=%s: must be auto, sched or wall\n",
		       timestamp_clock ? timestamp_clock : "");
		return false;
	}
	return true;
}

static int __init falco_init(void)
{
	unsigned int i;
	int err;

	if (!falco_params_valid())
		return -EINVAL;
#ifdef FALCO_TRACEPOINT_BY_STRUCT
	for_each_kernel_tracepoint(falco_find_tracepoint, NULL);
	if (!falco_tp_sys_exit || !falco_tp_proc_exit) {
		pr_err("sys_exit or sched_process_exit tracepoint not found\n");
		return -ENOENT;
	}
#endif
	for (i = 0; i < FALCO_NR_SYSCALLS; i++)
		if (falco_syscalls[i].event)
			set_bit(falco_syscalls[i].event, falco_supported);
	set_bit(EV_PROCEXIT_1_E, falco_supported);
	get_random_bytes(&falco_pointer_key, sizeof(falco_pointer_key));

	falco_nr_rings = nr_cpu_ids;
	falco_rings = kcalloc(falco_nr_rings, sizeof(*falco_rings), GFP_KERNEL);
	falco_scratch = kcalloc(falco_nr_rings, sizeof(*falco_scratch), GFP_KERNEL);
	if (!falco_rings || !falco_scratch) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < falco_nr_rings; i++) {
		err = falco_ring_alloc(&falco_rings[i], i);
		if (err)
			goto fail;
		falco_scratch[i].args = kmalloc(max_args_len, GFP_KERNEL);
		falco_scratch[i].path = kmalloc(PATH_MAX, GFP_KERNEL);
		if (!falco_scratch[i].args || !falco_scratch[i].path) {
			err = -ENOMEM;
			goto fail;
		}
	}

	err = alloc_chrdev_region(&falco_devt, 0, falco_nr_rings, FALCO_DEVICE_PREFIX);
	if (err)
		goto fail;
	cdev_init(&falco_cdev, &falco_fops);
	falco_cdev.owner = THIS_MODULE;
	err = cdev_add(&falco_cdev, falco_devt, falco_nr_rings);
	if (err)
		goto fail_region;
	falco_class = falco_class_create(FALCO_DEVICE_PREFIX);
	if (IS_ERR(falco_class)) {
		err = PTR_ERR(falco_class);
		falco_class = NULL;
		goto fail_cdev;
	}
	falco_class->devnode = falco_devnode;
	for (i = 0; i < falco_nr_rings; i++) {
		struct device *dev = device_create(falco_class, NULL, MKDEV(MAJOR(falco_devt), i),
						   NULL, FALCO_DEVICE_PREFIX "%u", i);
		if (IS_ERR(dev)) {
			err = PTR_ERR(dev);
			while (i--)
				device_destroy(falco_class, MKDEV(MAJOR(falco_devt), i));
			goto fail_class;
		}
	}
	err = falco_probes_register();
	if (err) {
		pr_err("cannot attach to the syscall tracepoints: %d\n", err);
		for (i = 0; i < falco_nr_rings; i++)
			device_destroy(falco_class, MKDEV(MAJOR(falco_devt), i));
		goto fail_class;
	}
	pr_info("loaded: %u rings of %u bytes; timestamps: %s%s\n", falco_nr_rings, ring_bytes,
		falco_clock_want_sched() ? "scheduler clock" : "wall clock per record",
		falco_clock_kind != FALCO_CLOCK_AUTO ? " (timestamp_clock)" :
		falco_clock_want_sched() ? " (stable across CPUs)" :
		" (scheduler clock not known stable across CPUs)");
	return 0;

fail_class:
	class_destroy(falco_class);
fail_cdev:
	cdev_del(&falco_cdev);
fail_region:
	unregister_chrdev_region(falco_devt, falco_nr_rings);
fail:
	falco_free_all();
	pr_err("load failed: %d\n", err);
	return err;
}

static void __exit falco_exit(void)
{
	unsigned int i;

	/* No device is open (each open holds a module reference), so capture is off; detach
	 * the probes and wait for running ones before freeing the rings. */
	WRITE_ONCE(falco_capture, false);
	falco_probes_unregister();
	for (i = 0; i < falco_nr_rings; i++)
		device_destroy(falco_class, MKDEV(MAJOR(falco_devt), i));
	class_destroy(falco_class);
	cdev_del(&falco_cdev);
	unregister_chrdev_region(falco_devt, falco_nr_rings);
	falco_free_all();
	pr_info("unloaded\n");
}

module_init(falco_init);
module_exit(falco_exit);
