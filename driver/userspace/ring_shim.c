// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Userspace harness for the ring producer: compiles the exact producer core the kernel
 * module runs (ring_core.h) with userspace hooks, so the daemon's tests can drive it
 * against the Rust consumer. Also exports the ABI header's ioctl numbers, which bindgen
 * cannot see (it drops the _IO* macros).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FALCO_USER_PTR
#define FALCO_LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FALCO_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define FALCO_STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A "user" pointer equal to this address faults, as unmapped user memory would. */
const char falco_shim_fault_marker[1];

static int shim_copy_from_user(void *dst, const void *src, size_t n)
{
	if (src == (const void *)falco_shim_fault_marker)
		return 1;
	memcpy(dst, src, n);
	return 0;
}

static long shim_strncpy_from_user(char *dst, const char *src, long n)
{
	long i;

	if (src == falco_shim_fault_marker)
		return -14;
	for (i = 0; i < n; i++) {
		dst[i] = src[i];
		if (!src[i])
			return i;
	}
	return n;
}

#define FALCO_COPY_FROM_USER(d, s, n) shim_copy_from_user((d), (s), (n))
#define FALCO_STRNCPY_FROM_USER(d, s, n) shim_strncpy_from_user((d), (s), (n))

#include "../ring_core.h"

const uint32_t falco_shim_ioctl_numbers[] = {
	FALCO_IOCTL_API_VERSION, FALCO_IOCTL_ENABLE,      FALCO_IOCTL_DISABLE,
	FALCO_IOCTL_SET_INTEREST, FALCO_IOCTL_SUPPORTED,  FALCO_IOCTL_SET_SNAPLEN,
	FALCO_IOCTL_STATS,       FALCO_IOCTL_RING_INFO,
};
const uint32_t falco_shim_ioctl_count =
	sizeof(falco_shim_ioctl_numbers) / sizeof(falco_shim_ioctl_numbers[0]);
const uint32_t falco_shim_api_version = FALCO_API_VERSION;

void *falco_shim_producer_new(void *cons, void *prod, void *data, uint64_t data_size)
{
	struct falco_producer *p = malloc(sizeof(*p));

	if (p)
		falco_producer_init(p, cons, prod, data, data_size);
	return p;
}

void falco_shim_producer_free(void *p)
{
	free(p);
}

/* Payload length of test record `seq`: varied, sometimes 0, sometimes large. */
static uint32_t shim_payload_len(uint64_t seq)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull;

	if ((x >> 60) == 0)
		return (uint32_t)((x >> 20) % 3000);
	return (uint32_t)((x >> 24) % 120);
}

/*
 * Writes test record `seq`: type = seq % 500, tid = seq, ts = seq, params:
 *   0 u64 seq, 1 payload (bytes (seq + i) & 0xff), 2 user string "s<seq%1000>" (or a
 *   faulting pointer when seq % 97 == 0: empty), 3 kernel string "k".
 * Returns 0 when committed, -1 when dropped.
 */
int falco_shim_produce(void *producer, uint64_t seq)
{
	struct falco_producer *p = producer;
	struct falco_record r;
	uint32_t len = shim_payload_len(seq), i, space;
	uint8_t *dst;
	char ustr[16];
	uint64_t v = seq % 1000;
	int n = 0;
	char digits[8];

	if (falco_record_begin(&r, p, (uint16_t)(seq % 500), 4, seq, seq))
		return -1;
	falco_record_u64(&r, seq);
	dst = falco_record_reserve(&r, len, &space);
	if (space < len) {
		r.overflow = 1;
	} else {
		for (i = 0; i < len; i++)
			dst[i] = (uint8_t)(seq + i);
		falco_record_close_param(&r, len);
	}
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ustr[0] = 's';
	for (i = 0; i < (uint32_t)n; i++)
		ustr[1 + i] = digits[n - 1 - i];
	ustr[1 + n] = 0;
	falco_record_ustr(&r, seq % 97 == 0 ? falco_shim_fault_marker : ustr, 64);
	falco_record_kstr(&r, "k", 16);
	return falco_record_commit(&r);
}

/* Produces records first_seq .. first_seq + count - 1; returns how many were committed. */
uint64_t falco_shim_produce_many(void *producer, uint64_t first_seq, uint64_t count)
{
	uint64_t committed = 0, s;

	for (s = first_seq; s < first_seq + count; s++)
		if (falco_shim_produce(producer, s) == 0)
			committed++;
	return committed;
}

/*
 * A record with a string of `len` characters limited to `max` (truncation tests) and a
 * user buffer of `buf_len` bytes limited to `buf_max`.
 */
int falco_shim_produce_strings(void *producer, const char *s, uint32_t max, const void *buf,
			       uint32_t buf_len, uint32_t buf_max)
{
	struct falco_record r;

	if (falco_record_begin(&r, producer, 7, 3, 1, 2))
		return -1;
	falco_record_ustr(&r, s, max);
	falco_record_kstr(&r, s, max);
	falco_record_ubuf(&r, buf, buf_len, buf_max);
	return falco_record_commit(&r);
}
