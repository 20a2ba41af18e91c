/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The one contract between the falco kernel module and the daemon: device files, the
 * shared-memory ring layout and the ioctls. Plain C, fixed-width types, explicit padding,
 * no pointers and no enums in structs: the kernel compiles it and the daemon runs bindgen
 * on it (bindgen drops the _IO* macros; the daemon checks its own ioctl numbers against
 * the ones compiled here in a test).
 *
 * Devices: /dev/falco0 .. /dev/falco<N-1>, one per possible CPU, mode 0600.
 * Each device may be open by one file at a time (a second open gets EBUSY): the daemon
 * opens all of them. Capture runs while it is enabled and at least one device is open;
 * closing the last device disables it and resets the interest set (empty) and snaplen. The module cannot be unloaded while a device is
 * open (the char device holds a module reference).
 *
 * Shared memory of one CPU's ring, by mmap offset of the device:
 *
 *   offset 0                 consumer page, read-write: struct falco_ring_consumer (tail)
 *   offset PAGE              producer page, read-only:  struct falco_ring_producer (head,
 *                            counters, geometry)
 *   offset 2*PAGE            data area of data_size = 2^n bytes, read-only,
 *   offset 2*PAGE+data_size  the same data pages mapped a second time, so a record that
 *                            starts near the end of the area reads linearly.
 *
 * mmap the consumer page alone (offset 0, length PAGE, PROT_READ|PROT_WRITE) and the rest
 * in one read-only mapping (offset PAGE, length PAGE + 2*data_size). Page size and
 * data_size are given by FALCO_IOCTL_RING_INFO.
 *
 * Protocol (single producer = the probe running on that CPU with preemption disabled,
 * single consumer = the daemon):
 *   - head and tail count bytes since the ring was created; position in the data area is
 *     (pos & (data_size - 1)). head - tail <= data_size bytes are in use.
 *   - The producer writes a whole record at head, then stores head + FALCO_RECORD_SPAN(len)
 *     with release semantics. The consumer loads head with acquire semantics, reads records
 *     in [tail, head), then stores the new tail with release semantics.
 *   - A record that does not fit in data_size - (head - tail) is dropped and counted in
 *     drops_full; the producer never waits. The producer never trusts tail: a tail that is
 *     ahead of head or more than data_size behind counts as a full ring.
 *   - A new reader should start at tail = head (older records belong to a previous reader).
 *   - poll(2) on a device reports POLLIN while its ring holds unread records; a reader
 *     blocked in poll is woken when the producer publishes one (never spin on head).
 *
 * Records use the scap v2 event layout: a packed 26-byte header (u64 ts ns since the
 * epoch, u64 tid, u32 len including the header, u16 event type, u32 nparams), then nparams
 * u16 parameter lengths, then the parameters; event ids and parameter encodings are those
 * of the scap format's newest exit layouts (one record per syscall, at exit), plus
 * PROCEXIT_1_E. Records start at multiples of FALCO_RECORD_ALIGN. The top bit of nparams
 * (FALCO_RECORD_TRUNCATED) marks a record with a string or buffer cut at its limit (path
 * length, argv/env bytes, snaplen); the reader clears it before decoding the record.
 *
 * Interest set: a bitmap indexed by scap event type id (e.g. bit 307 = openat exit,
 * SYSCALL_OPENAT_2_X; bit 186 = PROCEXIT_1_E). The module records only event types whose
 * bit is set; every other syscall costs one table lookup and one bit test.
 */
#ifndef FALCO_ABI_H
#define FALCO_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* major << 16 | minor; the daemon refuses a different major. */
#define FALCO_API_VERSION ((1u << 16) | 0u)
#define FALCO_API_VERSION_MAJOR(v) ((v) >> 16)

#define FALCO_DEVICE_PREFIX "falco"

/* Size of the scap v2 event header at the start of every record. */
#define FALCO_RECORD_HEADER_LEN 26
/* Records start on this alignment; the gap after a record is padding. */
#define FALCO_RECORD_ALIGN 8
/* Flag in the header's nparams: a value of this record was cut at its limit. */
#define FALCO_RECORD_TRUNCATED 0x80000000u
#define FALCO_RECORD_SPAN(len) \
	(((__u64)(len) + FALCO_RECORD_ALIGN - 1) & ~(__u64)(FALCO_RECORD_ALIGN - 1))

/* Number of event type ids the interest bitmap covers (scap ids are < 512). */
#define FALCO_INTEREST_BITS 512
#define FALCO_INTEREST_WORDS (FALCO_INTEREST_BITS / 64)

/* Limits on the data area size (module parameter ring_bytes, a power of two). */
#define FALCO_RING_MIN_BYTES (1u << 16)
#define FALCO_RING_MAX_BYTES (1u << 30)

/* Snaplen bounds (bytes of I/O buffers copied into read/write records). */
#define FALCO_SNAPLEN_DEFAULT 80
#define FALCO_SNAPLEN_MAX 65000

/* Consumer page (offset 0, read-write for the daemon). */
struct falco_ring_consumer {
	__u64 tail;
	__u8 reserved[56];
};

/* Producer page (offset PAGE, read-only for the daemon). */
struct falco_ring_producer {
	__u64 head;
	__u8 pad_head[56];
	/* Counters, written by the producer only, read relaxed by the daemon. */
	__u64 events;          /* records committed */
	__u64 drops_full;      /* records dropped: no room in the ring */
	__u64 drops_fault;     /* user-memory reads that failed; the parameter is left empty
				* (scap's "no value") and the record is still delivered */
	__u64 truncated;       /* records with a string/buffer cut at its limit */
	/* Geometry, constant after module load. */
	__u64 data_size;       /* 2^n bytes */
	__u32 page_size;       /* the mapping unit: consumer page and producer page size */
	__u32 cpu;             /* CPU this ring belongs to */
	__u32 api_version;     /* FALCO_API_VERSION */
	__u32 reserved32;
	__u64 reserved[6];
};

/* FALCO_IOCTL_SET_INTEREST argument. */
struct falco_interest {
	__u64 bits[FALCO_INTEREST_WORDS];
};

/* FALCO_IOCTL_RING_INFO result (per device). */
struct falco_ring_info {
	__u64 data_size;
	__u32 page_size;
	__u32 cpu;
	__u32 nr_devices;      /* number of /dev/falcoN devices (possible CPUs) */
	__u32 reserved32;
	__u64 reserved[2];
};

/* FALCO_IOCTL_STATS result (this device's ring). */
struct falco_stats {
	__u64 events;
	__u64 drops_full;
	__u64 drops_fault;
	__u64 truncated;
	__u64 reserved[4];
};

#define FALCO_IOCTL_MAGIC 'f'
/* Returns FALCO_API_VERSION in the __u32 argument. */
#define FALCO_IOCTL_API_VERSION _IOR(FALCO_IOCTL_MAGIC, 1, __u32)
/* Global: start / stop recording (no argument). */
#define FALCO_IOCTL_ENABLE _IO(FALCO_IOCTL_MAGIC, 2)
#define FALCO_IOCTL_DISABLE _IO(FALCO_IOCTL_MAGIC, 3)
/* Global: replace the interest set. Bits of ids the module cannot record are refused
 * (EINVAL) so the daemon knows what it will not get. */
#define FALCO_IOCTL_SET_INTEREST _IOW(FALCO_IOCTL_MAGIC, 4, struct falco_interest)
/* Global: read the set of event ids this module can record. */
#define FALCO_IOCTL_SUPPORTED _IOR(FALCO_IOCTL_MAGIC, 5, struct falco_interest)
/* Global: snaplen in 1..FALCO_SNAPLEN_MAX (EINVAL otherwise). */
#define FALCO_IOCTL_SET_SNAPLEN _IOW(FALCO_IOCTL_MAGIC, 6, __u32)
#define FALCO_IOCTL_STATS _IOR(FALCO_IOCTL_MAGIC, 7, struct falco_stats)
#define FALCO_IOCTL_RING_INFO _IOR(FALCO_IOCTL_MAGIC, 8, struct falco_ring_info)

#endif /* FALCO_ABI_H */
