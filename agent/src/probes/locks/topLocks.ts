// The most contended kernel locks, from the lock_addrs map (per address: contentions, total and longest
// wait) read when a reader collects: the top N by total wait become two gauges labelled with the lock's
// symbol, address and kind, so the series stay bounded. The kernel map is bounded too: once it is 3/4 full,
// all but the hottest quarter of its addresses are evicted at maintenance (they start from zero if they
// come back); addresses that find the map full are counted as map_full drops.
import type { BatchObservableResult, Observable } from '@opentelemetry/api';
import { LOCKS, LOCKS_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext, FamilyRuntime } from '../types';
import type { KernelSymbols } from './kallsyms';
import { LOCK_CLASS_MMAP_LOCK, lockKindName } from './kinds';

export interface LockAddrStat {
  addr: bigint;
  count: number;
  waitNs: number;
  maxNs: number;
  flags: number;
  class: number;
}

const FIELDS = ['count', 'wait_ns', 'max_ns', 'flags', 'class'] as const;

/** every entry of lock_addrs, per-CPU copies folded, hottest (most total wait) first */
export function readLockAddrs(ctx: Pick<FamilyContext, 'object'>): LockAddrStat[] {
  const { object } = ctx;
  const info = object.mapInfo('lock_addrs');
  const r = new RecordReader(object.layout('lock_addr_stat'), FIELDS, 'lock_addr_stat');
  const batch = object.readMap('lock_addrs');
  const chunk = Math.ceil(info.valueSize / 8) * 8;
  const copies = info.percpu ? batch.valueStride / chunk : 1;
  const out: LockAddrStat[] = [];
  for (let i = 0; i < batch.count; i++) {
    const s: LockAddrStat = { addr: batch.keys.readBigUInt64LE(i * info.keySize), count: 0, waitNs: 0, maxNs: 0, flags: 0, class: 0 };
    for (let c = 0; c < copies; c++) {
      const base = i * batch.valueStride + c * chunk;
      const n = r.u64(batch.values, base, 'count');
      if (n === 0) continue;
      s.count += n;
      s.waitNs += r.u64(batch.values, base, 'wait_ns');
      s.maxNs = Math.max(s.maxNs, r.u64(batch.values, base, 'max_ns'));
      s.flags ||= r.u32(batch.values, base, 'flags');
      s.class ||= r.u32(batch.values, base, 'class');
    }
    out.push(s);
  }
  return out.sort((a, b) => b.waitNs - a.waitNs);
}

export function lockSymbol(s: LockAddrStat, symbols: KernelSymbols): string {
  return s.class === LOCK_CLASS_MMAP_LOCK ? 'mmap_lock' : symbols.resolve(s.addr);
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(3)} ms`;

/** the console report's section: one row per lock, hottest first */
export function topLocksTable(stats: LockAddrStat[], symbols: KernelSymbols): string[] {
  if (stats.length === 0) return [];
  const lines = [
    'Most contended kernel locks (since first seen)',
    `  ${'symbol'.padEnd(28)} ${'kind'.padEnd(18)} ${'address'.padEnd(18)} ${'count'.padStart(10)} ${'total wait'.padStart(14)} ${'max wait'.padStart(12)}`,
  ];
  for (const s of stats) {
    lines.push(
      `  ${lockSymbol(s, symbols).slice(0, 28).padEnd(28)} ${lockKindName(s.flags).padEnd(18)} ${`0x${s.addr.toString(16)}`.padEnd(18)} ${String(s.count).padStart(10)} ${ms(s.waitNs).padStart(14)} ${ms(s.maxNs).padStart(12)}`,
    );
  }
  return lines;
}

/** drops all but the `keep` hottest addresses once the map is 3/4 full */
function evictCold(ctx: FamilyContext, stats: LockAddrStat[], maxEntries: number, keep: number): void {
  if (stats.length < (maxEntries * 3) / 4) return;
  const cold = stats.slice(keep);
  const keys = Buffer.alloc(cold.length * 8);
  cold.forEach((s, i) => keys.writeBigUInt64LE(s.addr, i * 8));
  ctx.object.deleteKeys('lock_addrs', keys, cold.length);
}

export function observeTopLocks(ctx: FamilyContext, symbols: () => KernelSymbols, top: number): FamilyRuntime {
  const maxEntries = ctx.object.mapInfo('lock_addrs').maxEntries;
  const keep = Math.max(top, Math.floor(maxEntries / 4));
  const wait = ctx.meter.createObservableGauge(LOCKS.topWait.name, { unit: LOCKS.topWait.unit, description: LOCKS.topWait.description });
  const count = ctx.meter.createObservableGauge(LOCKS.topCount.name, {
    unit: LOCKS.topCount.unit,
    description: LOCKS.topCount.description,
  });
  const callback = (result: BatchObservableResult) => {
    const stats = readLockAddrs(ctx);
    for (const s of stats.slice(0, top)) {
      const attrs = {
        [LOCKS_ATTR.symbol]: lockSymbol(s, symbols()),
        [LOCKS_ATTR.address]: `0x${s.addr.toString(16)}`,
        [LOCKS_ATTR.kind]: lockKindName(s.flags),
      };
      result.observe(wait, s.waitNs / 1e9, attrs);
      result.observe(count, s.count, attrs);
    }
  };
  const removeTask = ctx.maintenance.add('locks: lock_addrs eviction', () => evictCold(ctx, readLockAddrs(ctx), maxEntries, keep));
  const observables: Observable[] = [wait, count];
  ctx.meter.addBatchObservableCallback(callback, observables);
  const removeSection = ctx.console?.addSection(() => topLocksTable(readLockAddrs(ctx).slice(0, top), symbols()));
  return {
    close: () => {
      removeTask();
      ctx.meter.removeBatchObservableCallback(callback, observables);
      removeSection?.();
    },
  };
}
