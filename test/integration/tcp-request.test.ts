// Request/response latency (families.tcp.requestLatency) against a loopback server that delays each reply
// by an amount the test chose: the chosen delays are the truth. The client's tcp.request.duration (its
// request sent -> the reply's data arriving) and the server's tcp.response.duration (the request's data
// arriving -> the reply sent) hold one value per request, each percentile within the histogram's bucket
// error (4.4% at scale 4) of the chosen delays' own, plus the timer's lateness (the server's setTimeout fires
// a little after the delay, or up to a loop iteration before it); the connection's span carries the same turns as count, min, max, mean, stddev.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { scaled } from '../helpers/timing';
import { waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { freePort, startAgent, testAgentConfig, type AgentProcess } from '../helpers/agentProcess';
import { exactQuantile, histogramQuantile } from '../helpers/quantiles';

const WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');
/** the bucket error at metrics.histogramScale 4: 2^(1/16) - 1 */
const BUCKET = 2 ** (1 / 16) - 1;
/** how late a reply may be beyond its delay: timer lateness and two loopback hops */
const LATE_S = scaled(4) / 1000;
/** how early: libuv starts a timer from the loop's cached time, which may lag the request's arrival */
const EARLY_S = scaled(1) / 1000;
const PERCENTILES = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

/** 24 delays from 20 to 200 ms, log-spread, in a shuffled order (ms) */
function chosenDelays(): number[] {
  const n = 24;
  const d = Array.from({ length: n }, (_, i) => Math.round(20 * 10 ** (i / (n - 1))));
  return d.map((v, i) => d[(i * 7) % n]);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function stddev(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

describe('TCP request/response latency (root, real kernel, real OTLP)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let port: number;
  let promPort: number;
  const cgroups: Record<string, TestCgroup> = {};
  let server: { kill(): void } | undefined;
  let delaysS: number[];
  let run: { localPort: number; roundTripsMs: number[] };

  before(async () => {
    for (const name of ['req-client', 'req-server']) cgroups[name] = createCgroup(name);
    receiver = await startOtlpReceiver();
    port = await freePort();
    promPort = await freePort();
    const config = testAgentConfig({
      grpcPort: receiver.grpcPort,
      promPort,
      families: 'tcp:\n  connectionSpans: true\n  requestLatency: true',
    });
    agent = startAgent(['run', '--config', config, '--families', 'tcp']);
    await agent.waitFor(/kotel running/, 30_000);
    const child = cgroups['req-server'].spawn(process.execPath, [WORKLOAD, 'delay-server', String(port), '127.0.0.1']);
    server = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
      child.on('exit', (code) => reject(new Error(`delay-server exited ${code}`)));
    });
    const delaysMs = chosenDelays().map((ms) => scaled(ms));
    delaysS = delaysMs.map((ms) => ms / 1000);
    const out = await runIn(cgroups['req-client'], process.execPath, [WORKLOAD, 'requests', '127.0.0.1', String(port), delaysMs.join(',')]);
    run = JSON.parse(out.trim().split('\n').at(-1)!);
  });

  after(async () => {
    server?.kill();
    await agent?.stop();
    await receiver?.close();
    for (const cg of Object.values(cgroups)) cg.remove();
  });

  for (const [metric, cgroup] of [
    ['tcp.request.duration', 'req-client'],
    ['tcp.response.duration', 'req-server'],
  ] as const) {
    test(`${metric}: one value per request, by server.port; each percentile the chosen delays' within the bucket error`, async () => {
      const n = delaysS.length;
      assert.equal(run.roundTripsMs.length, n, 'the workload made every request');
      const p = await waitForPoint(
        receiver,
        metric,
        { 'cgroup.path': cgroups[cgroup].path, 'server.port': port },
        (x) => x.count === n,
        `${n} turns in ${metric}`,
      );
      assert.equal(p.unit, 's');
      for (const q of PERCENTILES) {
        const exact = exactQuantile(delaysS, q);
        const got = histogramQuantile(p.bounds!, p.counts!, q);
        assert.ok(
          got >= exact * (1 - BUCKET) - EARLY_S && got <= exact * (1 + BUCKET) + LATE_S,
          `p${q * 100}: kotel ${(got * 1e3).toFixed(2)} ms, chosen ${(exact * 1e3).toFixed(2)} ms`,
        );
      }
      const sum = delaysS.reduce((a, b) => a + b, 0);
      assert.ok(p.sum! >= sum - n * EARLY_S && p.sum! <= sum + n * LATE_S, `sum ${p.sum} s, chosen ${sum} s`);
    });
  }

  test("the connections' spans: their turns as count, min, max, mean and stddev", async () => {
    const n = delaysS.length;
    const spans = await receiver.waitFor(
      () => {
        const s = receiver.spans().filter((x) => x.name === 'tcp.connection' && x.attributes['network.peer.port'] === run.localPort);
        const c = receiver.spans().find((x) => x.name === 'tcp.connection' && x.attributes['network.local.port'] === run.localPort);
        return c && s.length ? { client: c, server: s[0] } : undefined;
      },
      scaled(20_000),
      'the client and server spans of the connection',
    );
    for (const [span, prefix] of [
      [spans.client, 'tcp.request'],
      [spans.server, 'tcp.response'],
    ] as const) {
      const a = span.attributes;
      assert.equal(a[`${prefix}.count`], n, `${prefix}.count`);
      const near = (key: string, want: number) => {
        const got = a[`${prefix}.duration.${key}`] as number;
        assert.ok(got >= want - EARLY_S && got <= want + LATE_S, `${prefix}.duration.${key}: ${got} s, chosen ${want} s`);
      };
      near('min', Math.min(...delaysS));
      near('max', Math.max(...delaysS));
      near('mean', mean(delaysS));
      const sd = a[`${prefix}.duration.stddev`] as number;
      assert.ok(Math.abs(sd - stddev(delaysS)) <= LATE_S + EARLY_S, `${prefix}.duration.stddev: ${sd} s, chosen ${stddev(delaysS)} s`);
    }
  });

  test("GET /report: both ends of the connection in tcp's per-connection breakdown, with the same turns", async () => {
    const report = (await (await fetch(`http://127.0.0.1:${promPort}/report`)).json()) as {
      families: {
        tcp: { connections: Array<{ role: string; open: boolean; attributes: Record<string, unknown>; turns: Record<string, number> }> };
      };
    };
    const conns = report.families.tcp.connections;
    const client = conns.find((c) => c.role === 'client' && c.attributes['network.local.port'] === run.localPort);
    const server = conns.find((c) => c.role === 'server' && c.attributes['network.peer.port'] === run.localPort);
    for (const [c, cgroup] of [
      [client, 'req-client'],
      [server, 'req-server'],
    ] as const) {
      assert.ok(c, `the ${cgroup} end in ${JSON.stringify(conns.slice(0, 5))}`);
      assert.equal(c.open, false, 'closed by the workload');
      assert.equal(c.attributes['cgroup.path'], cgroups[cgroup].path);
      assert.equal(c.turns.count, delaysS.length);
      assert.ok(c.turns.min >= Math.min(...delaysS) - EARLY_S && c.turns.max <= Math.max(...delaysS) + LATE_S, JSON.stringify(c.turns));
      assert.ok(Math.abs(c.turns.mean - mean(delaysS)) <= LATE_S, JSON.stringify(c.turns));
    }
  });
});
