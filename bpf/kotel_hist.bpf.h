/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The slot of a value in a kotel histogram (bpf/kotel.h): OTel's exponential bucket of the value in
 * seconds, at the scale the loader chose. No division and no loop: an octave by kotel_log2, then a binary
 * search of five compares among the octave's 16 scale-4 bounds (kotel_hist_mantissa.h), merged down to the
 * scale by a shift. agent/src/kernel/exponentialBuckets.ts derives the knobs and the bucket index. */
#ifndef KOTEL_HIST_BPF_H
#define KOTEL_HIST_BPF_H

#include "kotel.h"
#include "kotel_hist_mantissa.h"

/* Set by the loader for its scale s: KOTEL_HIST_MAX_SCALE - s, the rounding that aligns merged slots with
 * OTel's buckets, and the slots of the scale (the last one counts the overflow). The defaults are scale 4. */
const volatile __u32 kotel_hist_shift = 0;
const volatile __u32 kotel_hist_round = 0;
const volatile __u64 kotel_hist_slots = KOTEL_HIST_MAX_SLOTS;

/* floor(log2(v)) for v > 0, branch-free (no loops: the verifier and the hot path both like it). */
static __always_inline __u32 kotel_log2(__u64 v)
{
	__u32 r, shift;

	r = (v > 0xFFFFFFFFULL) << 5;
	v >>= r;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* The slot of v ns: 0 for 0; else 1 + ((16k + j + round) >> shift) with k = floor(log2 v) and j the number
 * of the octave's scale-4 bounds below v (v << (63 - k) against the table, exact in 64 bits). The indices
 * are masked with 15 (they never exceed it) so that the 6.1 verifier, which drops bounds at the ORs clang may
 * make of the adds, still sees them bounded. */
static __always_inline __u64 kotel_hist_slot(__u64 v)
{
	__u64 k, m, j;

	if (v == 0)
		return 0;
	k = kotel_log2(v);
	if (k >= KOTEL_HIST_OCTAVES)
		return kotel_hist_slots - 1;
	m = v << (63 - k);
	j = (__u64)(m > kotel_hist_mantissa[7]) << 3;
	j += (__u64)(m > kotel_hist_mantissa[(j + 3) & 15]) << 2;
	j += (__u64)(m > kotel_hist_mantissa[(j + 1) & 15]) << 1;
	j += m > kotel_hist_mantissa[j & 15];
	j += m > kotel_hist_mantissa[j & 15];
	return 1 + (((k << KOTEL_HIST_MAX_SCALE) + j + kotel_hist_round) >> kotel_hist_shift);
}

#endif
