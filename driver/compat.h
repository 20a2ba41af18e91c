/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every kernel-version branch of the module lives here, each with the API change it
 * covers and the version that made it. Design target: 3.10 and newer; compile-tested on
 * Debian's 5.10, 6.1 and 6.12.
 */
#ifndef FALCO_COMPAT_H
#define FALCO_COMPAT_H

#include <linux/version.h>
#include <linux/compiler.h>
#include <linux/uaccess.h>
#include <linux/tracepoint.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/sched.h>
#include <linux/ktime.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/kernfs.h>
#include <asm/syscall.h>
#ifdef CONFIG_X86
#include <asm/tsc.h>
#include <asm/cpufeature.h>
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(4, 11, 0)
#include <linux/sched/clock.h>   /* local_clock: in linux/sched.h before 4.11 */
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#endif

/* READ_ONCE/WRITE_ONCE: 3.19 (before: ACCESS_ONCE). */
#ifndef READ_ONCE
#define READ_ONCE(x) ACCESS_ONCE(x)
#define WRITE_ONCE(x, v) (ACCESS_ONCE(x) = (v))
#endif

/* smp_load_acquire/smp_store_release: 3.14. Before: a full barrier around a plain access. */
#ifndef smp_load_acquire
#define smp_load_acquire(p) ({ typeof(*(p)) ___v = ACCESS_ONCE(*(p)); smp_mb(); ___v; })
#define smp_store_release(p, v) do { smp_mb(); ACCESS_ONCE(*(p)) = (v); } while (0)
#endif

/* ktime_get_real_ns: 3.17. */
static inline u64 falco_wall_ns(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(3, 17, 0)
	return ktime_get_real_ns();
#else
	return ktime_to_ns(ktime_get_real());
#endif
}

/*
 * The wall clock read per record: ktime_get_real_fast_ns (4.15) reads the timekeeper
 * without its seqcount retry loop; before it, ktime_get_real_ns. Both read the
 * clocksource, so they agree across CPUs wherever the kernel keeps time.
 */
static inline u64 falco_wall_fast_ns(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(4, 15, 0)
	return ktime_get_real_fast_ns();
#else
	return falco_wall_ns();
#endif
}

/*
 * Whether the scheduler clock (local_clock) agrees across CPUs. The kernel's answer,
 * sched_clock_stable(), is not exported to modules (checked on 5.10, 6.1 and 6.12), so
 * this follows the conditions the kernel itself uses. Without
 * CONFIG_HAVE_UNSTABLE_SCHED_CLOCK the scheduler clock is global by definition
 * (sched_clock_stable() is the constant 1). On x86 the scheduler clock is the TSC, made
 * unstable together with it (mark_tsc_unstable clears sched_clock_stable; the exported
 * check_tsc_unstable tells), and it can only be synchronised across CPUs with a constant,
 * nonstop TSC. In a guest the scheduler clock may be the hypervisor's paravirt clock,
 * whose stability flag modules cannot read, so a guest counts only when the hypervisor
 * declared the TSC reliable. Anywhere else: not known, so no.
 */
static inline bool falco_sched_clock_stable(void)
{
#if !defined(CONFIG_HAVE_UNSTABLE_SCHED_CLOCK)
	return true;
#elif defined(CONFIG_X86)
	if (check_tsc_unstable() || !boot_cpu_has(X86_FEATURE_CONSTANT_TSC) ||
	    !boot_cpu_has(X86_FEATURE_NONSTOP_TSC))
		return false;
	return !boot_cpu_has(X86_FEATURE_HYPERVISOR) || boot_cpu_has(X86_FEATURE_TSC_RELIABLE);
#else
	return false;
#endif
}

/* syscall_get_arguments lost its (i, n) range arguments in 5.1. */
static inline void falco_syscall_args(struct pt_regs *regs, unsigned long *args)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 1, 0)
	syscall_get_arguments(current, regs, args);
#else
	syscall_get_arguments(current, regs, 0, 6, args);
#endif
}

/* in_compat_syscall: 4.6 (before: is_compat_task). 32-bit syscalls are not recorded. */
static inline bool falco_in_compat_syscall(void)
{
#if !defined(CONFIG_COMPAT)
	return false;
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(4, 6, 0)
	return in_compat_syscall();
#else
	return is_compat_task();
#endif
}

/* access_ok dropped its type argument in 5.0. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 0, 0)
#define falco_access_ok(p, n) access_ok(p, n)
#else
#define falco_access_ok(p, n) access_ok(VERIFY_READ, p, n)
#endif

/*
 * Non-faulting copy from user memory: copy_from_user_nofault 5.8, probe_user_read 5.3;
 * before that the same thing by hand (pagefault_disable + __copy_from_user_inatomic).
 * Returns 0 on success.
 */
static inline int falco_copy_from_user_nofault(void *dst, const void __user *src, size_t n)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 8, 0)
	return copy_from_user_nofault(dst, src, n) ? -EFAULT : 0;
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(5, 3, 0)
	return probe_user_read(dst, src, n) ? -EFAULT : 0;
#else
	unsigned long left;

	if (!falco_access_ok(src, n))
		return -EFAULT;
	pagefault_disable();
	left = __copy_from_user_inatomic(dst, src, n);
	pagefault_enable();
	return left ? -EFAULT : 0;
#endif
}

/*
 * Non-faulting string copy with strncpy_from_user's result convention (length < n when
 * the NUL was copied, n when cut, < 0 on fault). strncpy_from_user_nofault (5.8) is not
 * exported to modules; it is strncpy_from_user with page faults disabled, which is what
 * this is: a fault on a page that is not present returns -EFAULT through the exception
 * table instead of sleeping, and a word read that runs into an unmapped page falls back to
 * bytes, so a string that ends before it is read whole. The probes run in the task's own
 * syscall context, so the user address space is the current one (the NMI check of the
 * kernel's helper is not needed). strncpy_from_user reads a word at a time, where copying
 * fixed chunks and scanning them costs a byte-wise string instruction per chunk.
 */
static inline long falco_strncpy_from_user_nofault(char *dst, const char __user *src, long n)
{
	long ret;

	if (n <= 0)
		return 0;
	pagefault_disable();
	ret = strncpy_from_user(dst, src, n);
	pagefault_enable();
	return ret < 0 ? -EFAULT : ret;
}

/* Tracepoints are looked up by name with for_each_kernel_tracepoint since 3.15; before,
 * tracepoint_probe_register took the name. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(3, 15, 0)
#define FALCO_TRACEPOINT_BY_STRUCT 1
#endif

/* class_create lost its owner argument in 6.4. */
static inline struct class *falco_class_create(const char *name)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	return class_create(name);
#else
	return class_create(THIS_MODULE, name);
#endif
}

/* class devnode callbacks take a const struct device since 6.2. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define FALCO_DEVNODE_CONST const
#else
#define FALCO_DEVNODE_CONST
#endif

/* vm_flags became read-only in 6.3 (vm_flags_set/vm_flags_clear). */
static inline void falco_vma_make_readonly(struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
#endif
}

/* sock_from_file lost its error pointer argument in 5.11. */
static inline struct socket *falco_sock_from_file(struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
	return sock_from_file(file);
#else
	int err;

	return sock_from_file(file, &err);
#endif
}

/*
 * A reference to the mm's executable file without sleeping. mm->exe_file became
 * RCU-protected in 4.1; get_file_rcu takes the __rcu pointer's address since 6.7.
 * Before 4.1 it was protected by mmap_sem (a sleeping lock): not available.
 */
static inline struct file *falco_mm_exe_file(struct mm_struct *mm)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	struct file *file;

	rcu_read_lock();
	file = get_file_rcu(&mm->exe_file);
	rcu_read_unlock();
	return file;
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(4, 1, 0)
	struct file *file;

	rcu_read_lock();
	file = rcu_dereference(mm->exe_file);
	if (file && !get_file_rcu(file))
		file = NULL;
	rcu_read_unlock();
	return file;
#else
	return NULL;
#endif
}

/* Inode times: accessors inode_get_ctime 6.6, inode_get_mtime 6.7; timespec64 in 4.18. */
static inline u64 falco_inode_ctime_ns(struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	struct timespec64 t = inode_get_ctime(inode);

	return timespec64_to_ns(&t);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(4, 18, 0)
	return timespec64_to_ns(&inode->i_ctime);
#else
	return timespec_to_ns(&inode->i_ctime);
#endif
}

static inline u64 falco_inode_mtime_ns(struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	struct timespec64 t = inode_get_mtime(inode);

	return timespec64_to_ns(&t);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(4, 18, 0)
	return timespec64_to_ns(&inode->i_mtime);
#else
	return timespec_to_ns(&inode->i_mtime);
#endif
}

/* kernel_cap_t became a single u64 in 6.3 (before: u32 cap[2]). */
static inline u64 falco_cap_bits(kernel_cap_t cap)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return cap.val;
#else
	return ((u64)cap.cap[1] << 32) | cap.cap[0];
#endif
}

/* FMODE_CREATED (file created by this open): 4.19. */
static inline bool falco_file_created(struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(4, 19, 0)
	return file->f_mode & FMODE_CREATED;
#else
	return false;
#endif
}

/* IPv6 addresses moved into sock_common (sk_v6_daddr, sk_v6_rcv_saddr) in 3.13. */
#if IS_ENABLED(CONFIG_IPV6)
#include <net/ipv6.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(3, 13, 0)
#define falco_sk_v6_daddr(sk) (&(sk)->sk_v6_daddr)
#define falco_sk_v6_saddr(sk) (&(sk)->sk_v6_rcv_saddr)
#else
#define falco_sk_v6_daddr(sk) (&inet6_sk(sk)->daddr)
#define falco_sk_v6_saddr(sk) (&inet6_sk(sk)->rcv_saddr)
#endif
#endif

/* task_struct->loginuid is kept with CONFIG_AUDIT since 5.1 (before CONFIG_AUDITSYSCALL);
 * audit_get_loginuid is defined either way and returns INVALID_UID when not kept. */

/*
 * The cgroup path of a task in the default hierarchy, from the root of all cgroups
 * (init_cgroup_ns is not exported, so go through kernfs): kernfs_path_from_node and
 * task_dfl_cgroup exist since 4.6.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(4, 6, 0) && defined(CONFIG_CGROUPS)
#define FALCO_HAVE_CGROUP_PATH 1
#endif

/* poll handlers return __poll_t and EPOLL* bits since 4.16 (before: unsigned int, POLL*). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(4, 16, 0)
typedef __poll_t falco_poll_t;
#define FALCO_POLLIN (EPOLLIN | EPOLLRDNORM)
#else
typedef unsigned int falco_poll_t;
#define FALCO_POLLIN (POLLIN | POLLRDNORM)
#endif

/* MS_MGC_VAL/MS_MGC_MSK moved to uapi/linux/mount.h in 5.2; older trees have them in fs.h. */
#ifndef MS_MGC_VAL
#define MS_MGC_VAL 0xC0ED0000
#define MS_MGC_MSK 0xffff0000
#endif

#endif /* FALCO_COMPAT_H */
