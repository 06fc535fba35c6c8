// Collector faults, with the real agent process and the real OTLP receiver (gRPC and HTTP/protobuf): an
// outage, then the collector back (exports resume within an export interval; a SIGTERM right after it
// comes back delivers the final flush), and a slow then refusing collector with spans flowing (the
// agent's memory stays bounded, lost spans are counted).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { test } from 'node:test';
import { startAgent, type AgentProcess } from '../helpers/agentProcess';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';
import { scaled } from '../helpers/timing';

const INTERVAL_MS = 1000;
/** an outage long enough for gRPC's reconnect back-off (1 s x1.6 per attempt) to pass 6 s between attempts */
const OUTAGE_MS = 20_000;
/** agent RSS bound under a slow or refusing collector (reference VM: ~77 MB at start, peak ~143 MB over 40 s at 500 spans/s) */
const RSS_BOUND_MB = 250;

const PROTOCOLS = ['grpc', 'http/protobuf'] as const;

function endpoint(rx: OtlpReceiver, protocol: (typeof PROTOCOLS)[number]): string {
  return protocol === 'grpc' ? `http://127.0.0.1:${rx.grpcPort}` : `http://127.0.0.1:${rx.httpPort}`;
}

function agentFor(rx: OtlpReceiver, protocol: (typeof PROTOCOLS)[number], env: NodeJS.ProcessEnv = {}): AgentProcess {
  return startAgent(
    [
      'run',
      '--no-console',
      '--no-prometheus',
      '--log-level',
      'debug',
      '--families',
      'tcp',
      '--otlp-protocol',
      protocol,
      '--otlp-endpoint',
      endpoint(rx, protocol),
    ],
    { KOTEL_METRICS_INTERVAL: String(INTERVAL_MS), ...env },
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function failedExports(agent: AgentProcess): number {
  return (agent.stderr().match(/OTLP metrics export to \S+ failed again/g) ?? []).length;
}

for (const protocol of PROTOCOLS) {
  test(`collector outage (${protocol}): exports resume within an export interval, a SIGTERM after the return delivers the final flush`, async () => {
    const rx = await startOtlpReceiver();
    const agent = agentFor(rx, protocol);
    try {
      await agent.waitFor(/kotel running/, 30_000);
      await rx.waitFor(() => rx.requests().metrics > 0, 5_000, 'the first export');

      // (a) an outage of many intervals, then the collector back on the same port
      await rx.stop();
      await agent.waitFor(/OTLP collector at \S+ \([^)]+\) unreachable/, 5_000);
      await sleep(OUTAGE_MS);
      const before = rx.requests().metrics;
      await rx.restart();
      const back = Date.now();
      await rx.waitFor(() => rx.requests().metrics > before, 60_000, 'an export after the collector came back');
      const delay = Date.now() - back;
      console.log(`# ${protocol}: first export ${delay} ms after the collector came back (export interval ${INTERVAL_MS} ms)`);
      assert.ok(delay <= scaled(2 * INTERVAL_MS), `first export ${delay} ms after the collector came back: more than 2 intervals`);
      await agent.waitFor(/OTLP export to \S+ recovered/, 5_000);

      // (b) another outage; the collector comes back right after a failed export and the agent is stopped
      // at once: the next periodic export is an interval away, so what arrives is the final flush
      await rx.stop();
      await sleep(OUTAGE_MS / 2);
      const failed = failedExports(agent);
      await rx.waitFor(() => failedExports(agent) > failed, 5_000, 'the next failed export');
      rx.reset();
      await rx.restart();
      assert.equal(rx.requests().metrics, 0, 'nothing exported between the return and the signal');
      assert.equal(await agent.stop(), 0, agent.stderr());
      const names = new Set(rx.metrics().map((p) => p.name));
      assert.ok(names.has('kotel.probe.attached') && names.has('tcp.connection.events'), `final flush delivered: ${[...names].join(', ')}`);
    } finally {
      await agent.stop();
      await rx.close();
    }
  });
}

/** VmRSS of a process, MB */
function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** TCP connections to a local server, about `perSecond` a second, until stop(); at most MAX_OPEN at once, so a
 * slow (emulated) machine does not run the test out of file descriptors (1024 in the kernel-matrix guests) */
function connectionLoad(port: number, perSecond: number): { stop(): void; made(): number } {
  const MAX_OPEN = 200;
  let made = 0;
  let open = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 10 && open < MAX_OPEN; i++) {
      open++;
      const s = net.connect(port, '127.0.0.1', () => s.end());
      s.on('error', () => undefined);
      s.on('close', () => {
        open--;
        made++;
      });
    }
  }, 100);
  return { stop: () => clearInterval(timer), made: () => made };
}

for (const protocol of PROTOCOLS) {
  test(`slow, then refusing collector (${protocol}), spans flowing: agent RSS stays under ${RSS_BOUND_MB} MB, lost spans counted`, async () => {
    const rx = await startOtlpReceiver();
    const server = net.createServer((s) => s.resume().on('end', () => s.end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    // a 5 s export timeout: one batch of 512 spans per 5 s leaves the span queue (2048) filling even at the
    // ~200 connections/s an emulated kernel-matrix guest makes
    const agent = agentFor(rx, protocol, { KOTEL_FAMILIES_TCP_CONNECTION_SPANS: 'true', KOTEL_OTLP_TIMEOUT: '5s' });
    const load = connectionLoad((server.address() as net.AddressInfo).port, 500);
    const samples: number[] = [];
    try {
      await agent.waitFor(/kotel running/, 30_000);
      await rx.waitFor(() => rx.spans().length > 0, 15_000, 'the first spans');
      const start = rssMb(agent.child.pid!);
      // slow: each export answered after 6 s, past the agent's 5 s timeout; then refused
      for (const b of [{ delayMs: 6000 }, { fail: true }]) {
        rx.behave(b);
        for (let i = 0; i < 20; i++) {
          await sleep(INTERVAL_MS);
          samples.push(rssMb(agent.child.pid!));
        }
      }
      rx.behave({});
      const made = load.made();
      load.stop();
      const peak = Math.max(...samples);
      console.log(
        `# ${protocol}: agent RSS ${start.toFixed(0)} MB at start, peak ${peak.toFixed(0)} MB, last ${samples.at(-1)!.toFixed(0)} MB over ${samples.length} s; ${made} connections`,
      );
      assert.ok(peak < RSS_BOUND_MB, `agent RSS peaked at ${peak.toFixed(0)} MB`);

      // the loss is counted: spans that found the queue full, and spans of failed exports
      await rx.waitFor(
        () =>
          rx
            .metrics()
            .some((p) => p.name === 'kotel.events.dropped' && p.attributes['kotel.drop.reason'] === 'span_queue_full' && p.value! > 0),
        20_000,
        'span_queue_full drops exported',
      );
      await rx.waitFor(
        () =>
          rx
            .metrics()
            .some((p) => p.name === 'kotel.events.dropped' && p.attributes['kotel.drop.reason'] === 'export_failed' && p.value! > 0),
        20_000,
        'export_failed drops exported',
      );
      assert.equal(await agent.stop(), 0, agent.stderr());
    } finally {
      load.stop();
      await agent.stop();
      await rx.close();
      server.close();
    }
  });
}
