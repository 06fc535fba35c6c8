// The JSON report (root, real kernel): `kotel record` runs the families and writes one report, GET /report
// serves the same snapshot live; both are checked against agent/report.schema.json (ajv), and their numbers
// against the workloads' own accounts: futex waits the workload timed itself (count, and each percentile
// within 5% of the exact one), TCP connections it made. A progress line shows on a terminal (script(1)
// gives the agent a pty), none when piped; bad flags are one line.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Report, ReportHistogramPoint, ReportMetric } from '../../agent/src/otel/report';
import { CLI, freePort, runCli, startAgent, writeConfig } from '../helpers/agentProcess';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { exactQuantile } from '../helpers/quantiles';
import { scaled } from '../helpers/timing';
import { tool } from '../helpers/tools';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'agent', 'report.schema.json'), 'utf8'));
const LOCKS_SOURCE = path.join(ROOT, 'test', 'fixtures', 'workloads', 'locks-workload.c');
const TCP_WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(SCHEMA);

function assertValid(report: unknown): asserts report is Report {
  assert.ok(validate(report), `report against agent/report.schema.json: ${ajv.errorsText(validate.errors)}`);
}

function metric(report: Report, family: string, name: string): ReportMetric {
  const m = report.families[family]?.metrics.find((x) => x.name === name);
  assert.ok(m, `${name} in families.${family}: ${JSON.stringify(Object.keys(report.families))}`);
  return m;
}

function pointOf<P extends { attributes: Record<string, unknown> }>(m: ReportMetric, attrs: Record<string, unknown>): P | undefined {
  return (m.points as unknown as P[]).find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
}

describe('kotel record and GET /report', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-record-'));
  const cgroups: Record<string, TestCgroup> = {};
  let workload: string;

  before(() => {
    workload = path.join(dir, 'kotel-lockwl');
    execFileSync(tool('cc'), ['-O2', '-Wall', '-pthread', '-o', workload, LOCKS_SOURCE, '-lm']);
    for (const name of ['record-spread', 'report-server', 'report-client']) cgroups[name] = createCgroup(name);
  });

  after(() => {
    for (const cg of Object.values(cgroups)) cg.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('record: one report of the run, ended by SIGINT; futex waits as many as the workload made, percentiles within 5%', async () => {
    const output = path.join(dir, 'report.json');
    const config = writeConfig('families:\n  locks:\n    futex: true\n');
    const child = spawn(
      process.execPath,
      [CLI, 'record', '--config', config, '--families', 'locks', '--duration', '10m', '--output', output],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (const end = Date.now() + 30_000; !/kotel running/.test(stderr); await new Promise((r) => setTimeout(r, 100)))
      assert.ok(Date.now() < end && child.exitCode === null, `kotel record did not start: ${stderr}`);

    // 1000 waits timed out after 1-20 ms, log-uniform (emulated: 5-100 ms), each timed by the workload
    const [lo, hi] = process.env.KOTEL_TEST_EMULATED ? [5000, 100_000] : [1000, 20_000];
    const count = 1000;
    const started = Date.now();
    const res = JSON.parse(
      (await runIn(cgroups['record-spread'], workload, ['spread', '4', String(count), String(lo), String(hi)])).trim().split('\n').at(-1)!,
    );
    const exact = (res.waitNs as number[]).map((ns) => ns / 1e9);
    const workloadSeconds = (Date.now() - started) / 1000;
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.doesNotMatch(stderr, /kotel record: \d+ s of/, 'no progress line when stderr is not a terminal');

    const report: unknown = JSON.parse(fs.readFileSync(output, 'utf8'));
    assertValid(report);
    assert.equal(report.kernel.release, os.release());
    assert.equal(report.machine.cpus, os.cpus().length);
    assert.equal(report.machine.hostname, os.hostname());
    assert.ok(report.durationSeconds >= workloadSeconds, `${report.durationSeconds} s recorded, the workload ran ${workloadSeconds} s`);
    assert.deepEqual(Object.keys(report.families), ['locks'], '--families locks: only locks');
    const { attached, total } = report.families.locks.probes;
    assert.ok(attached > 0 && attached === total, `locks: ${attached} of ${total} probes attached`);
    assert.equal((report.config as { families: { locks: { futex: boolean } } }).families.locks.futex, true, 'the effective config');

    const futex = metric(report, 'locks', 'futex.wait.duration');
    assert.equal(futex.type, 'histogram');
    assert.equal(futex.unit, 's');
    const p = pointOf<ReportHistogramPoint>(futex, {
      'cgroup.path': cgroups['record-spread'].path,
      'futex.op': 'wait',
      'error.type': 'ETIMEDOUT',
    });
    assert.ok(p, `a futex.wait.duration point for the workload's cgroup: ${JSON.stringify(futex.points.map((x) => x.attributes))}`);
    assert.equal(p.count, count, 'every wait the workload made');
    const percentiles = { p50: 0.5, p75: 0.75, p90: 0.9, p95: 0.95, p99: 0.99, 'p99.9': 0.999 } as const;
    for (const [name, q] of Object.entries(percentiles)) {
      const want = exactQuantile(exact, q);
      const got = p.percentiles[name as keyof typeof percentiles]!;
      assert.ok(Math.abs(got - want) / want <= 0.05, `${name}: report ${(got * 1e3).toFixed(3)} ms, exact ${(want * 1e3).toFixed(3)} ms`);
    }
    const sum = exact.reduce((a, b) => a + b, 0);
    assert.ok(p.sum <= sum && p.sum >= 0.9 * sum, `sum ${p.sum} s of waits, the workload timed ${sum} s (kernel time is a little less)`);
    assert.equal(
      p.buckets.counts.reduce((a, b) => a + b, p.buckets.zeroCount),
      count,
      'the buckets hold every wait',
    );

    // drops: every nonzero kotel.events.dropped series, nothing else
    const dropped = report.agent.metrics.find((m) => m.name === 'kotel.events.dropped');
    assert.ok(dropped, 'kotel.events.dropped among the agent metrics');
    const nonzero = (dropped.points as { attributes: Record<string, unknown>; value: number }[]).filter((x) => x.value > 0);
    assert.deepEqual(
      report.drops,
      nonzero.map((x) => ({ family: x.attributes['kotel.family'], reason: x.attributes['kotel.drop.reason'], count: x.value })),
    );
  });

  test('GET /report: the live snapshot, the same schema; TCP connections as many as the workload made', async () => {
    const port = await freePort();
    const serverPort = await freePort();
    const agent = startAgent(['run', '--no-otlp', '--no-console', '--families', 'tcp', '--prometheus-port', String(port)]);
    const server = cgroups['report-server'].spawn(process.execPath, [TCP_WORKLOAD, 'server', String(serverPort), '127.0.0.1']);
    try {
      await agent.waitFor(/kotel running/, 30_000);
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
        server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      const n = 6;
      await runIn(cgroups['report-client'], process.execPath, [
        TCP_WORKLOAD,
        'connects',
        '127.0.0.1',
        String(serverPort),
        String(n),
        '100',
      ]);
      const res = await fetch(`http://127.0.0.1:${port}/report`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const report: unknown = await res.json();
      assertValid(report);
      assert.deepEqual(Object.keys(report.families), ['tcp']);
      const client = { 'cgroup.path': cgroups['report-client'].path };
      const connect = pointOf<ReportHistogramPoint>(metric(report, 'tcp', 'tcp.connect.duration'), client);
      assert.equal(connect?.count, n, `${n} connections timed for the client cgroup`);
      const opens = pointOf<{ attributes: Record<string, unknown>; value: number }>(metric(report, 'tcp', 'tcp.connection.events'), {
        ...client,
        'tcp.event': 'open_active',
      });
      assert.equal(opens?.value, n, `${n} active opens`);
    } finally {
      server.kill();
      await agent.stop();
    }
  });

  test('a progress line on a terminal: elapsed, events so far, drops', () => {
    const output = path.join(dir, 'tty.json');
    const cmd = [process.execPath, CLI, 'record', '--families', 'sched', '--duration', `${scaled(3000)}ms`, '--output', output].join(' ');
    // script(1) runs the command on a pseudo-terminal: its stderr is a TTY
    const out = execFileSync('script', ['-qefc', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    assert.match(out, /\rkotel record: [1-9]\d* s of \d+ s, [1-9]\d* events, \d+ drops/, out.slice(-2000));
    const report: unknown = JSON.parse(fs.readFileSync(output, 'utf8'));
    assertValid(report);
  });

  test('bad flags: one line naming the flag, exit 2; an output that cannot be written: exit 1 before recording', async () => {
    const bad = await runCli(['record', '--duration', '0']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^kotel: option '--duration <time>' argument '0' is invalid\. give a duration such as 60s, 2m, 500ms or 1h/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const missing = path.join(dir, 'no-such-dir', 'r.json');
    const unwritable = await runCli(['record', '--families', 'sched', '--duration', '1s', '--output', missing]);
    assert.equal(unwritable.code, 1, unwritable.stderr);
    assert.match(unwritable.stderr, new RegExp(`^kotel: --output ${missing}: cannot write it \\(ENOENT\\)$`, 'm'));
    assert.doesNotMatch(unwritable.stderr, /kotel running/, 'it fails before loading any probe');
  });
});
