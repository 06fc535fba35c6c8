// 10 000 short-lived cgroups, each with a process making TCP, futex and scheduler events, churned while
// the tcp, sched and locks families are loaded (real programs, real cgroups). The sweep runs after each
// phase of PHASE cgroups, as the agent's timer would (it runs every max(60 s, 3 export intervals), too
// slow for a test): a cgroup missing at two sweeps in a row is deleted, so at any time the entries and
// exported series of removed cgroups come from the last two phases at most: <= 2 * PHASE cgroups.
// Entries of cgroups that still exist (a steady cgroup that keeps counting, the host's own) survive
// every sweep, and the steady cgroup's counter never goes back.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { hrTime } from '@opentelemetry/core';
import { loadConfig } from '../../agent/src/config';
import { CgroupResolver, findCgroup2Mount } from '../../agent/src/host/cgroups';
import { KernelMetricProducer } from '../../agent/src/otel/KernelMetricProducer';
import { scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { CgroupSweep } from '../../agent/src/probes/cgroupSweep';
import { loadFamilies } from '../../agent/src/probes/load';
import { locksFamily } from '../../agent/src/probes/locks';
import { readU64 } from '../../agent/src/kernel/mapValues';
import { schedFamily } from '../../agent/src/probes/sched';
import { tcpFamily } from '../../agent/src/probes/tcp';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { createCgroup } from '../helpers/cgroup';

const notRoot = process.getuid?.() !== 0 ? 'loading BPF programs and creating cgroups need root' : false;
const TOTAL = 10_000;
const PHASE = 2_000;
const PARALLEL = 16;

test(`${TOTAL} short-lived cgroups under load: per-cgroup entries and series stay bounded`, { skip: notRoot }, async (t) => {
  const logger = pino({ level: 'silent' });
  const config = loadConfig({ env: { KOTEL_FAMILIES_LOCKS_FUTEX: 'true' } });
  const load = loadFamilies(config, [tcpFamily, schedFamily, locksFamily], logger);
  assert.equal(load.loaded.length, 3, JSON.stringify(load.failed.map((f) => f.reason)));
  const churn = buildWorkload('cgroup-churn');
  const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  const parent = createCgroup('churn');
  const steady = createCgroup('steady');
  const steadyProc = steady.spawn(churn, ['steady']);
  const cgroups = new CgroupResolver();
  const sweep = new CgroupSweep(load.loaded, cgroups, logger);
  const producer = new KernelMetricProducer(
    () => load.loaded.map(({ family, object }) => ({ family: family.name, object, metrics: family.kernelMetrics })),
    cgroups,
    AggregationTemporality.CUMULATIVE,
    hrTime(),
    { layout: scaleLayout(config.metrics.histogramScale), aggregation: 'exponential' },
  );
  const mount = findCgroup2Mount()!;
  try {
    /** cgroup ids per map, and the steady cgroup's context switches */
    const snapshot = () => {
      const ids = new Map<string, number[]>();
      let steadySwitches = 0;
      for (const { family, object } of load.loaded) {
        const cgOff = object.layout('kotel_cg_key').fields.cgroup_id.offset;
        for (const map of new Set(family.kernelMetrics.map((m) => m.map))) {
          const { keySize } = object.mapInfo(map);
          const b = object.readMap(map);
          const list: number[] = [];
          for (let i = 0; i < b.count; i++) {
            const id = readU64(b.keys, i * keySize + cgOff);
            list.push(id);
            // per-CPU u64 counters: the sum over CPUs
            if (map === 'sched_switches' && id === steady.id) {
              for (let off = i * b.valueStride; off < i * b.valueStride + b.valueStride; off += 8) steadySwitches += readU64(b.values, off);
            }
          }
          ids.set(`${family.name}/${map}`, list);
        }
      }
      return { ids, steadySwitches };
    };
    const removedSeries = async () => {
      const { resourceMetrics } = await producer.collect();
      const gone = new Set<number>();
      let series = 0;
      for (const sm of resourceMetrics.scopeMetrics)
        for (const m of sm.metrics)
          for (const p of m.dataPoints) {
            series++;
            const id = p.attributes['cgroup.id'];
            if (
              typeof id === 'number' &&
              id !== 0 &&
              !fs.existsSync(path.join(mount, String(p.attributes['cgroup.path'] ?? '/nonexistent')))
            )
              gone.add(id);
          }
      return { series, goneCgroups: gone.size };
    };

    let lastSteady = 0;
    let maxGone = 0;
    let maxEntries = 0;
    let maxSeries = 0;
    for (let first = 0; first < TOTAL + 2 * PHASE; first += PHASE) {
      if (first < TOTAL) {
        const { stdout } = await promisify(execFile)(churn, [
          'churn',
          path.join(mount, parent.path),
          String(first),
          String(PHASE),
          String(PARALLEL),
          String(port),
        ]);
        assert.deepEqual(JSON.parse(stdout), { created: PHASE, removed: PHASE });
      }
      const before = snapshot();
      sweep.run();
      const after = snapshot();
      cgroups.scan();
      for (const [map, ids] of after.ids) {
        const goneIds = new Set(ids.filter((id) => id !== 0 && !cgroups.exists(id)));
        assert.ok(goneIds.size <= 2 * PHASE, `${map}: ${goneIds.size} removed cgroups after a sweep`);
        maxEntries = Math.max(maxEntries, ids.length);
        // nothing that still exists is swept: cgroup 0, the steady cgroup, the host's cgroups
        const kept = new Set(ids);
        for (const id of before.ids.get(map)!)
          if (id === 0 || cgroups.exists(id)) assert.ok(kept.has(id), `${map}: entry of live cgroup ${id} swept`);
      }
      assert.ok(
        after.steadySwitches >= lastSteady && after.steadySwitches > 0,
        `steady cgroup's switches ${lastSteady} -> ${after.steadySwitches}`,
      );
      lastSteady = after.steadySwitches;
      const { series, goneCgroups } = await removedSeries();
      assert.ok(goneCgroups <= 2 * PHASE, `series of ${goneCgroups} removed cgroups exported`);
      maxGone = Math.max(maxGone, goneCgroups);
      maxSeries = Math.max(maxSeries, series);
      t.diagnostic(
        `after ${Math.min(first + PHASE, TOTAL)} cgroups: largest map ${Math.max(...[...after.ids.values()].map((l) => l.length))} entries, ${series} series, ${goneCgroups} removed cgroups in them`,
      );
    }
    // two sweeps after the churn: nothing of the removed cgroups is left
    const final = snapshot();
    for (const [map, ids] of final.ids)
      assert.deepEqual(
        ids.filter((id) => id !== 0 && !cgroups.exists(id)),
        [],
        `${map} holds removed cgroups`,
      );
    assert.ok(final.ids.get('sched/sched_switches')!.includes(steady.id), 'the steady cgroup is still counted');
    t.diagnostic(
      `max entries in a map ${maxEntries}, max series ${maxSeries}, max removed cgroups exported ${maxGone} (bound ${2 * PHASE})`,
    );
  } finally {
    steadyProc.kill('SIGKILL');
    await new Promise((r) => steadyProc.once('exit', r));
    steady.remove();
    parent.remove();
    server.close();
    for (const { object } of load.loaded) object.close();
    removeWorkloads();
  }
});
