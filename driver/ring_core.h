/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The ring producer: builds one scap v2 record in place at the ring's head and publishes
 * it. The same code runs in the kernel module and in the daemon's userspace ring test, so
 * it depends only on the hooks its includer defines:
 *
 *   FALCO_LOAD_ACQUIRE(p)         load *p (u64) with acquire semantics
 *   FALCO_STORE_RELEASE(p, v)     store v to *p (u64) with release semantics
 *   FALCO_STORE_RELAXED(p, v)     single-copy-atomic store (counters)
 *   FALCO_COPY_FROM_USER(dst, src, n)      0 on success, nonzero on fault (non-faulting)
 *   FALCO_STRNCPY_FROM_USER(dst, src, n)   like strncpy_from_user: string length (< n) if
 *                                          the string and its NUL fit, n if cut, < 0 on fault
 *   FALCO_USER_PTR                 the type qualifier of user pointers (__user or empty)
 *
 * The caller guarantees exclusive access to the ring for the duration of one record (the
 * kernel: one ring per CPU, preemption disabled; the test: one producer thread).
 */
#ifndef FALCO_RING_CORE_H
#define FALCO_RING_CORE_H

#include "include/falco_abi.h"

/* Largest value one parameter can hold (its length is a u16). */
#define FALCO_PARAM_MAX 65535u

struct falco_producer {
	struct falco_ring_consumer *cons;  /* shared, written by the reader: untrusted */
	struct falco_ring_producer *prod;  /* shared, read-only for the reader */
	__u8 *data;                        /* data_size bytes mapped twice, back to back */
	__u64 data_size;                   /* 2^n */
	__u64 head;                        /* private copy: the reader cannot move it */
	__u64 events, drops_full, drops_fault, truncated;
};

/* One record under construction. */
struct falco_record {
	struct falco_producer *p;
	__u8 *base;      /* record start inside the data area */
	__u32 room;      /* bytes this record may use */
	__u32 off;       /* bytes used so far (header, length table, parameters) */
	__u32 nparams;
	__u32 next;      /* index of the next parameter */
	int overflow;    /* the record did not fit: it will be dropped at commit */
	int truncated;
};

/*
 * Records are little-endian and unaligned. On a little-endian machine each value is one
 * unaligned store (a byte at a time costs a store per byte on the hottest path).
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FALCO_NATIVE_LE 1
#else
#define FALCO_NATIVE_LE 0
#endif

static inline void falco_put_u16(__u8 *dst, __u16 v)
{
	if (FALCO_NATIVE_LE) {
		__builtin_memcpy(dst, &v, sizeof(v));
		return;
	}
	dst[0] = (__u8)v;
	dst[1] = (__u8)(v >> 8);
}

static inline void falco_put_u32(__u8 *dst, __u32 v)
{
	if (FALCO_NATIVE_LE) {
		__builtin_memcpy(dst, &v, sizeof(v));
		return;
	}
	falco_put_u16(dst, (__u16)v);
	falco_put_u16(dst + 2, (__u16)(v >> 16));
}

static inline void falco_put_u64(__u8 *dst, __u64 v)
{
	if (FALCO_NATIVE_LE) {
		__builtin_memcpy(dst, &v, sizeof(v));
		return;
	}
	falco_put_u32(dst, (__u32)v);
	falco_put_u32(dst + 4, (__u32)(v >> 32));
}

static inline void falco_producer_init(struct falco_producer *p, struct falco_ring_consumer *cons,
				       struct falco_ring_producer *prod, __u8 *data,
				       __u64 data_size)
{
	p->cons = cons;
	p->prod = prod;
	p->data = data;
	p->data_size = data_size;
	p->head = 0;
	p->events = 0;
	p->drops_full = 0;
	p->drops_fault = 0;
	p->truncated = 0;
}

/*
 * Starts a record of event type `type` with `nparams` parameters. Returns 0, or -1 when
 * not even the header fits (the drop is already counted).
 */
static inline int falco_record_begin(struct falco_record *r, struct falco_producer *p,
				     __u16 type, __u32 nparams, __u64 ts, __u64 tid)
{
	__u64 tail = FALCO_LOAD_ACQUIRE(&p->cons->tail);
	__u64 used = p->head - tail;
	__u64 room;
	__u32 fixed = FALCO_RECORD_HEADER_LEN + 2 * nparams;
	__u32 i;

	/* A tail ahead of head or too far behind is a reader bug: treat as a full ring. */
	if (used > p->data_size)
		used = p->data_size;
	room = p->data_size - used;
	if (room > 0xffffffffu)
		room = 0xffffffffu;
	if (room < fixed) {
		p->drops_full++;
		FALCO_STORE_RELAXED(&p->prod->drops_full, p->drops_full);
		return -1;
	}
	r->p = p;
	r->base = p->data + (p->head & (p->data_size - 1));
	r->room = (__u32)room;
	r->off = fixed;
	r->nparams = nparams;
	r->next = 0;
	r->overflow = 0;
	r->truncated = 0;
	falco_put_u64(r->base, ts);
	falco_put_u64(r->base + 8, tid);
	falco_put_u16(r->base + 20, type);
	falco_put_u32(r->base + 22, nparams);
	/* A store per entry: a variable-length memset is a string instruction, slow for 14 bytes. */
	for (i = 0; i < nparams; i++)
		falco_put_u16(r->base + FALCO_RECORD_HEADER_LEN + 2 * i, 0);
	return 0;
}

/* Bytes the next parameter may use, capped at `want` and at FALCO_PARAM_MAX. */
static inline __u32 falco_record_space(const struct falco_record *r, __u32 want)
{
	__u32 left = r->room - r->off;

	if (want > FALCO_PARAM_MAX)
		want = FALCO_PARAM_MAX;
	return want < left ? want : left;
}

/* Closes the current parameter with `len` bytes already written at base + off. */
static inline void falco_record_close_param(struct falco_record *r, __u32 len)
{
	if (r->next >= r->nparams) {
		r->overflow = 1;
		return;
	}
	falco_put_u16(r->base + FALCO_RECORD_HEADER_LEN + 2 * r->next, (__u16)len);
	r->off += len;
	r->next++;
}

/* Appends `len` bytes of kernel memory as the next parameter. */
static inline void falco_record_bytes(struct falco_record *r, const void *src, __u32 len)
{
	if (r->overflow || len > falco_record_space(r, len)) {
		r->overflow = 1;
		return;
	}
	__builtin_memcpy(r->base + r->off, src, len);
	falco_record_close_param(r, len);
}

static inline void falco_record_empty(struct falco_record *r)
{
	if (!r->overflow)
		falco_record_close_param(r, 0);
}

static inline void falco_record_u8(struct falco_record *r, __u8 v)
{
	falco_record_bytes(r, &v, 1);
}

static inline void falco_record_u16(struct falco_record *r, __u16 v)
{
	__u8 b[2];

	falco_put_u16(b, v);
	falco_record_bytes(r, b, 2);
}

static inline void falco_record_u32(struct falco_record *r, __u32 v)
{
	__u8 b[4];

	falco_put_u32(b, v);
	falco_record_bytes(r, b, 4);
}

static inline void falco_record_u64(struct falco_record *r, __u64 v)
{
	__u8 b[8];

	falco_put_u64(b, v);
	falco_record_bytes(r, b, 8);
}

/* A NUL-terminated kernel string, cut at `max` bytes including the NUL. */
static inline void falco_record_kstr(struct falco_record *r, const char *s, __u32 max)
{
	__u32 len = 0;

	if (r->overflow)
		return;
	if (max == 0)
		max = 1;
	if (max > FALCO_PARAM_MAX)
		max = FALCO_PARAM_MAX;
	while (len + 1 < max && s[len])
		len++;
	if (len + 1 > falco_record_space(r, len + 1)) {
		r->overflow = 1;
		return;
	}
	if (s[len])
		r->truncated = 1;
	__builtin_memcpy(r->base + r->off, s, len);
	r->base[r->off + len] = 0;
	falco_record_close_param(r, len + 1);
}

/*
 * A user-space NUL-terminated string, cut at `max` bytes including the NUL. A fault leaves
 * the parameter empty and counts drops_fault.
 */
static inline void falco_record_ustr(struct falco_record *r, const char FALCO_USER_PTR *src,
				     __u32 max)
{
	__u32 space;
	long n;

	if (r->overflow)
		return;
	if (max == 0)
		max = 1;
	if (max > FALCO_PARAM_MAX)
		max = FALCO_PARAM_MAX;
	space = falco_record_space(r, max);
	if (space == 0) {
		r->overflow = 1;
		return;
	}
	if (!src) {
		falco_record_empty(r);
		return;
	}
	n = FALCO_STRNCPY_FROM_USER((char *)(r->base + r->off), src, (long)space);
	if (n < 0) {
		r->p->drops_fault++;
		falco_record_empty(r);
		return;
	}
	if ((__u32)n >= space) {
		if (space < max) {
			/* The ring, not the limit, cut the string: the record does not fit. */
			r->overflow = 1;
			return;
		}
		r->truncated = 1;
		n = space - 1;
	}
	r->base[r->off + n] = 0;
	falco_record_close_param(r, (__u32)n + 1);
}

/*
 * `len` bytes of user memory, cut at `max`. A fault leaves the parameter empty and counts
 * drops_fault.
 */
static inline void falco_record_ubuf(struct falco_record *r, const void FALCO_USER_PTR *src,
				     __u32 len, __u32 max)
{
	if (r->overflow)
		return;
	if (max > FALCO_PARAM_MAX)
		max = FALCO_PARAM_MAX;
	if (len > max) {
		len = max;
		r->truncated = 1;
	}
	if (len > falco_record_space(r, len)) {
		r->overflow = 1;
		return;
	}
	if (len && FALCO_COPY_FROM_USER(r->base + r->off, src, len)) {
		r->p->drops_fault++;
		falco_record_empty(r);
		return;
	}
	falco_record_close_param(r, len);
}

/*
 * Direct access for fillers that build a parameter in place (argv lists, addresses):
 * returns where the value goes and how many bytes it may use (0 on overflow).
 */
static inline __u8 *falco_record_reserve(struct falco_record *r, __u32 want, __u32 *space)
{
	*space = r->overflow ? 0 : falco_record_space(r, want);
	return r->base + r->off;
}

/*
 * Publishes the record. Returns 0, or -1 when it was dropped for lack of room or because
 * the filler produced a different number of parameters than announced.
 */
static inline int falco_record_commit(struct falco_record *r)
{
	struct falco_producer *p = r->p;

	if (r->overflow || r->next != r->nparams) {
		p->drops_full++;
		FALCO_STORE_RELAXED(&p->prod->drops_full, p->drops_full);
		FALCO_STORE_RELAXED(&p->prod->drops_fault, p->drops_fault);
		return -1;
	}
	falco_put_u32(r->base + 16, r->off);
	p->head += FALCO_RECORD_SPAN(r->off);
	p->events++;
	if (r->truncated) {
		p->truncated++;
		falco_put_u32(r->base + 22, r->nparams | FALCO_RECORD_TRUNCATED);
	}
	FALCO_STORE_RELEASE(&p->prod->head, p->head);
	FALCO_STORE_RELAXED(&p->prod->events, p->events);
	FALCO_STORE_RELAXED(&p->prod->drops_fault, p->drops_fault);
	FALCO_STORE_RELAXED(&p->prod->truncated, p->truncated);
	return 0;
}

#endif /* FALCO_RING_CORE_H */
