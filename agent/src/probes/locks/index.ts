// Locks family: kernel lock contention (lock:contention_begin/end) and user-space lock waits (futex
// syscalls) as per-cgroup wait-time histograms aggregated in the kernel (bpf/locks.bpf.c, ABI in
// bpf/locks.h); the most contended kernel locks by symbol, read at collection time; optionally one span
// per wait longer than a threshold.
import { LOCKS, LOCKS_ATTR } from './semconv';
import { tracepointLadder } from '../ladder';
import type { FamilyFolder, Family, FamilyRuntime } from '../types';
import { KernelSymbols } from './kallsyms';
import { futexAttributes, lockKindName } from './kinds';
import { observeTopLocks } from './topLocks';
import { startWaitSpans } from './waitSpans';
import { locksConfig } from './config';

// contention: 2^7 ns (128 ns) .. 2^34 ns (~17 s); futex: 2^10 ns (1 µs) .. 2^38 ns (~275 s)
/** classic buckets: 125 ns to 16 s, finer from 100 ns to 1 ms (spinning and short sleeps) */
const CONTENTION_CLASSIC = { from: 1.25e-7, to: 16, fine: [1e-7, 0.001] as [number, number] };
/** 1 us to 256 s, finer from 10 us to 100 ms */
const FUTEX_CLASSIC = { from: 1e-6, to: 256, fine: [1e-5, 0.1] as [number, number] };

export const locksFamily: Family = {
  name: 'locks',
  makesSpan: (name) => name === LOCKS.span,
  enabled: (config) => config.families.locks.enabled,
  openOptions: (config) => {
    const locks = config.families.locks;
    // ladders attach in this order: each end before its begin, so that no wait is recorded whose end
    // could come before the end program is attached (it would stay pending)
    const ladders: Record<string, ReturnType<typeof tracepointLadder>> = {};
    if (locks.contention) {
      ladders.contention_end = tracepointLadder('contention_end');
      ladders.contention_begin = tracepointLadder('contention_begin');
    }
    if (locks.futex) {
      ladders.futex_exit = tracepointLadder('futex_exit');
      ladders.futex_enter = tracepointLadder('futex_enter');
    }
    return {
      rodata: {
        targ_contention: locks.contention,
        targ_futex: locks.futex,
        targ_top_locks: locks.topLocks > 0,
        targ_span_threshold_ns: BigInt(Math.round(locks.spanThresholdMs * 1e6)),
      },
      maxEntries: {
        lock_contention_hist: locks.maxCgroupKeys,
        futex_wait_hist: locks.maxCgroupKeys,
        lock_addrs: locks.maxLockAddresses,
      },
      ladders,
    };
  },
  maps: {
    lock_addrs: { key: 8, value: 'lock_addr_stat' },
  },
  dropsMap: 'locks_drops',
  kernelMetrics: [
    {
      type: 'histogram',
      map: 'lock_contention_hist',
      metric: LOCKS.contentionDuration,
      classic: CONTENTION_CLASSIC,
      kindAttributes: (kind) => ({ [LOCKS_ATTR.kind]: lockKindName(kind) }),
    },
    {
      type: 'histogram',
      map: 'futex_wait_hist',
      metric: LOCKS.futexWaitDuration,
      classic: FUTEX_CLASSIC,
      kindAttributes: futexAttributes,
    },
  ],
  start(ctx) {
    const locks = ctx.config.families.locks;
    let symbols: KernelSymbols | undefined;
    // read once, on first use: only the top-locks report and kernel-lock spans need it
    const getSymbols = () => (symbols ??= KernelSymbols.load());
    const closers: FamilyRuntime[] = [];
    if (locks.contention && locks.topLocks > 0) closers.push(observeTopLocks(ctx, getSymbols, locks.topLocks));
    if (locks.spanThresholdMs > 0) closers.push(startWaitSpans(ctx, getSymbols));
    return { close: () => closers.forEach((c) => c.close()) };
  },
};

/** the locks folder for the registry */
export const folder = { config: locksConfig, families: [locksFamily] } satisfies FamilyFolder;
