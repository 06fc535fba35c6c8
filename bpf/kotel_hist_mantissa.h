/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* floor(2^63 * f_j) for the 16 bounds f_j in [1, 2) that OTel's scale-4 exponential buckets of a value in seconds
 * put in every octave of nanoseconds: f_j = 1e9 * 2^((j - 478) / 16) (agent/src/kernel/exponentialBuckets.ts computes
 * them exactly; test/unit/histogram-buckets.test.ts checks this table against it). */
#ifndef KOTEL_HIST_MANTISSA_H
#define KOTEL_HIST_MANTISSA_H

static const __u64 kotel_hist_mantissa[16] = {
	0x81ffa7a9549ca6e3ULL, 0x87c11235836d16a3ULL, 0x8dc3b8960164a7d9ULL, 0x940a7e28259fb382ULL,
	0x9a9867054d512391ULL, 0xa1709975dfb06757ULL, 0xa8965f74bf065071ULL, 0xb00d2843e1060dc2ULL,
	0xb7d88a12d0dd9ea0ULL, 0xbffc43b7e604a922ULL, 0xc87c3e7d03cdbec3ULL, 0xd15c9000bf211c1fULL,
	0xdaa17c2cd19555dbULL, 0xe44f7742cb56e3ddULL, 0xee6b280000000000ULL, 0xf8f969d9b5abf948ULL,
};

#endif
