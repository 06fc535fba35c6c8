// The interrupts family end to end: the real agent, scraped over Prometheus (each scrape reads the kernel
// maps then), against the kernel's own counters over the same window (/proc/softirqs, /proc/interrupts)
// and bpftrace timing the same handlers on the classic tracepoints. Load: loopback TCP (net_rx/net_tx
// softirqs) and synced writes to a file (the disk's IRQs; in a guest, the 9p root's virtio IRQs).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { startAgent, freePort, testAgentConfig, type AgentProcess } from '../helpers/agentProcess';
import { startBpftrace } from '../helpers/bpftrace';
import { scrape } from '../helpers/scrape';
import { SOFTIRQ_NAMES } from '../../agent/src/probes/interrupts/vectors';
import type { Receiver } from '../helpers/points';

const LOAD_SECONDS = 2;

/** /proc/softirqs or /proc/interrupts: row label → per-CPU counts, and the rest of the row */
function procTable(file: string): Map<string, { perCpu: number[]; rest: string }> {
  const [header, ...rows] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const cpus = header.trim().split(/\s+/).length;
  const table = new Map<string, { perCpu: number[]; rest: string }>();
  for (const row of rows) {
    const m = /^\s*([^:]+):(.*)$/.exec(row);
    if (!m) continue;
    const counts = new RegExp(`^((?:\\s+\\d+){${cpus}})(.*)$`).exec(m[2]);
    if (!counts) continue;
    table.set(m[1].trim(), { perCpu: counts[1].trim().split(/\s+/).map(Number), rest: counts[2].trim() });
  }
  return table;
}

/** the handler names /proc/interrupts shows for a numbered IRQ (", " between those of a shared line): two
 * spaces after the chip, hwirq and trigger fields */
function procHandlerName(rest: string): string {
  return rest.split(/\s{2,}/).at(-1)!;
}

interface Snapshot {
  /** `${series}|${cpu}` → count and sum (s) */
  counts: Map<string, { count: number; sum: number }>;
  softirqs: ReturnType<typeof procTable>;
  interrupts: ReturnType<typeof procTable>;
  handlers: Map<string, string>;
  /** ms from the scrape's request to the kernel counters read: how far apart the two windows' ends may be */
  gapMs: number;
  /** CLOCK_MONOTONIC (ns) when the scrape was requested: the maps are read after it */
  requested: bigint;
}

async function snapshot(port: number): Promise<Snapshot> {
  const t0 = performance.now();
  const requested = process.hrtime.bigint();
  const samples = await scrape(port);
  const softirqs = procTable('/proc/softirqs');
  const interrupts = procTable('/proc/interrupts');
  const gapMs = performance.now() - t0;
  const counts = new Map<string, { count: number; sum: number }>();
  const handlers = new Map<string, string>();
  for (const s of samples) {
    const m = /^(softirq_duration|irq_handler_duration)_seconds_(count|sum)$/.exec(s.name);
    if (!m) continue;
    const series = m[1] === 'softirq_duration' ? s.labels.softirq_type : s.labels.irq_number;
    const key = `${series}|${s.labels.cpu_id}`;
    const entry = counts.get(key) ?? { count: 0, sum: 0 };
    entry[m[2] as 'count' | 'sum'] = s.value;
    counts.set(key, entry);
    if (m[1] === 'irq_handler_duration' && s.labels.irq_handler) handlers.set(s.labels.irq_number, s.labels.irq_handler);
  }
  return { counts, softirqs, interrupts, handlers, gapMs, requested };
}

/** loopback TCP for `seconds` (softirqs) and synced writes to a file (the disk's IRQs) at the same time */
async function load(seconds: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-irq-'));
  const net = `
    const net = require('net');
    const srv = net.createServer((s) => s.resume()).listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1');
      const buf = Buffer.alloc(1 << 16);
      const end = Date.now() + ${seconds * 1000};
      const pump = () => { while (Date.now() < end) if (!c.write(buf)) return c.once('drain', pump); c.end(); srv.close(); };
      c.on('connect', pump);
    });`;
  const run = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
    });
  const disk = async () => {
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end)
      await run('dd', ['if=/dev/zero', `of=${path.join(dir, 'f')}`, 'bs=64k', 'count=64', 'conv=fsync', 'status=none']);
  };
  try {
    await Promise.all([run(process.execPath, ['-e', net]), disk()]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** every softirq run: its vector, its exit time (CLOCK_MONOTONIC, as process.hrtime) and its duration, ns */
const BT_SOFTIRQ = `
tracepoint:irq:softirq_entry { @start[cpu] = nsecs; @vec[cpu] = args->vec; }
tracepoint:irq:softirq_exit /@start[cpu] && @vec[cpu] == args->vec/ {
  $now = nsecs; printf("run %d %llu %llu\\n", args->vec, $now, $now - @start[cpu]); delete(@start[cpu]);
}
END { clear(@start); clear(@vec); }`;

/** bpftrace's runs that ended in [from, to), by vector: their number and total time, s */
function btRuns(out: string, from: bigint, to: bigint): Map<number, { runs: number; sum: number }> {
  const byVec = new Map<number, { runs: number; sum: number }>();
  for (const m of out.matchAll(/^run (\d+) (\d+) (\d+)$/gm)) {
    const end = BigInt(m[2]);
    if (end < from || end >= to) continue;
    const v = byVec.get(Number(m[1])) ?? { runs: 0, sum: 0 };
    v.runs += 1;
    v.sum += Number(m[3]) / 1e9;
    byVec.set(Number(m[1]), v);
  }
  return byVec;
}

describe('interrupts family end to end (root, real kernel, Prometheus scrape)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let port: number;
  let s0: Snapshot;
  let s1: Snapshot;
  let btOut: string;
  let windowMs: number;

  before(async () => {
    receiver = await startOtlpReceiver();
    port = await freePort();
    const config = testAgentConfig({ grpcPort: receiver.grpcPort, promPort: port, families: 'interrupts:\n  perCpu: true' });
    agent = startAgent(['run', '--config', config, '--families', 'interrupts']);
    await agent.waitFor(/kotel running/, 30_000);
    const tracer = await startBpftrace(BT_SOFTIRQ);
    s0 = await snapshot(port);
    const t0 = performance.now();
    await load(LOAD_SECONDS);
    windowMs = performance.now() - t0;
    s1 = await snapshot(port);
    btOut = await tracer.stop();
  });

  after(async () => {
    await agent?.stop();
    await receiver?.close();
  });

  /** the most events the kernel counted in the gaps between a scrape and the counters' read, at the window's rate */
  const slack = (procDelta: number) => Math.ceil((procDelta * (s0.gapMs + s1.gapMs)) / windowMs) + 3;

  test('softirq runs by type and CPU: as many as /proc/softirqs counts over the same window', () => {
    const checked: string[] = [];
    for (const [label, row] of s1.softirqs) {
      const type = label.toLowerCase();
      assert.ok(SOFTIRQ_NAMES.includes(type), `a softirq.type for /proc/softirqs' ${label}`);
      row.perCpu.forEach((n1, cpu) => {
        const procDelta = n1 - s0.softirqs.get(label)!.perCpu[cpu];
        const key = `${type}|${cpu}`;
        const kotelDelta = (s1.counts.get(key)?.count ?? 0) - (s0.counts.get(key)?.count ?? 0);
        assert.ok(
          Math.abs(kotelDelta - procDelta) <= slack(procDelta),
          `${type} on CPU ${cpu}: kotel counted ${kotelDelta} runs, /proc/softirqs ${procDelta} (slack ${slack(procDelta)})`,
        );
        if (procDelta >= 100) checked.push(`${type}/${cpu}: ${kotelDelta} vs ${procDelta}`);
      });
    }
    assert.ok(
      checked.some((c) => c.startsWith('net_rx/')),
      `the loopback load ran net_rx softirqs: ${checked.join(', ')}`,
    );
    console.log(`# softirq runs, kotel vs /proc/softirqs: ${checked.join(', ')}`);
  });

  test('hard IRQ handler calls by IRQ and CPU: as /proc/interrupts counts them, under its handler name', () => {
    const checked: string[] = [];
    for (const [label, row] of s1.interrupts) {
      if (!/^\d+$/.test(label)) continue; // the CPU's own vectors (LOC, RES, ...): not irq_handler_entry
      const name = procHandlerName(row.rest);
      if (name.includes(',')) continue; // a shared line: one event per handler, one count per interrupt
      const before0 = s0.interrupts.get(label)?.perCpu;
      if (!before0) continue; // allocated during the run
      row.perCpu.forEach((n1, cpu) => {
        const procDelta = n1 - before0[cpu];
        const key = `${label}|${cpu}`;
        const kotelDelta = (s1.counts.get(key)?.count ?? 0) - (s0.counts.get(key)?.count ?? 0);
        assert.ok(
          Math.abs(kotelDelta - procDelta) <= slack(procDelta),
          `IRQ ${label} (${name}) on CPU ${cpu}: kotel counted ${kotelDelta} handler calls, /proc/interrupts ${procDelta}`,
        );
        if (procDelta >= 20) {
          assert.equal(s1.handlers.get(label), name, `irq.handler of IRQ ${label}`);
          checked.push(`${label} ${name}/${cpu}: ${kotelDelta} vs ${procDelta}`);
        }
      });
    }
    assert.ok(checked.length > 0, 'the synced writes raised some IRQ at least 20 times');
    console.log(`# IRQ handler calls, kotel vs /proc/interrupts: ${checked.join(', ')}`);
  });

  test('softirq time per run by type: as bpftrace times the same handlers over the same window', () => {
    // bpftrace's runs are those that ended between the two scrapes' requests (its clock is process.hrtime's).
    // Both tracers read the clock at entry and at exit, one after the other (see sched.test.ts,
    // CLOCK_SKEW_NS): 1 us of slack per run on top of 10%. Emulated (qemu TCG) every BPF program runs
    // tens of times slower, so the other tracer's run time in each one's reading is far larger: logged only
    const bt = btRuns(btOut, s0.requested, s1.requested);
    const checked: string[] = [];
    const outside: string[] = [];
    SOFTIRQ_NAMES.forEach((type, vec) => {
      let count = 0;
      let sum = 0;
      for (const [key, v] of s1.counts) {
        if (!key.startsWith(`${type}|`)) continue;
        const was = s0.counts.get(key) ?? { count: 0, sum: 0 };
        count += v.count - was.count;
        sum += v.sum - was.sum;
      }
      const b = bt.get(vec) ?? { runs: 0, sum: 0 };
      if (count < 100 || b.runs < 100) return;
      const kotelMean = sum / count;
      const btMean = b.sum / b.runs;
      const line = `${type} ${(kotelMean * 1e6).toFixed(2)} us per run (${count} runs) vs ${(btMean * 1e6).toFixed(2)} us (${b.runs})`;
      checked.push(line);
      if (Math.abs(kotelMean - btMean) > 0.1 * btMean + 1e-6) outside.push(line);
    });
    console.log(`# softirq time per run, kotel vs bpftrace: ${checked.join(', ')}`);
    assert.ok(
      checked.some((c) => c.startsWith('net_rx ')),
      `net_rx was timed by both: ${checked.join(', ')}; bpftrace: ${btOut.slice(0, 300)}`,
    );
    if (!process.env.KOTEL_TEST_EMULATED) assert.deepEqual(outside, [], 'time per run within 10% + 1 us of bpftrace');
  });

  test('the exported series: seconds, no cgroup, a cpu.id with perCpu', async () => {
    const point = await receiver.waitFor(
      () => receiver.metrics().find((p) => p.name === 'softirq.duration' && p.attributes['softirq.type'] === 'net_rx'),
      20_000,
      'softirq.duration over OTLP',
    );
    assert.equal(point.unit, 's');
    assert.equal(point.kind, 'exponentialHistogram');
    assert.equal(typeof point.attributes['cpu.id'], 'number');
    assert.equal(point.attributes['cgroup.id'], undefined, 'an interrupt belongs to no cgroup');
  });
});
