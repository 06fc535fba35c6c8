// The whole path, kernel to OTLP, proven by the TCP family: the real agent (child process) with the real
// BPF programs on this kernel exports over OTLP gRPC to a receiver in this test that decodes the real
// protobuf. Workloads run in their own cgroups (and, for shaping and SYN drops, in network namespaces
// made here); their own accounts, `ss -ti` and nftables counters are the ground truth.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import * as path from 'node:path';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { missBound, startBpftrace } from '../helpers/bpftrace';
import { scaled, TIME_SCALE } from '../helpers/timing';
import { tool } from '../helpers/tools';
import { latest, waitForPoint, bucketOf, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { freePort, startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';
import { CLIENT_NS, SERVER_ADDR, SERVER_NS, createTestHosts, dropFirstSyn, droppedSyns, removeTestHosts, sh } from '../helpers/netns';

const WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');

function spawnWorkload(cg: TestCgroup, ns: string | undefined, args: string[]) {
  const cmd = ns ? ['ip', 'netns', 'exec', ns, process.execPath, WORKLOAD, ...args] : [process.execPath, WORKLOAD, ...args];
  return cg.spawn(cmd[0], cmd.slice(1));
}

async function runWorkload(cg: TestCgroup, ns: string | undefined, args: string[]) {
  const cmd = ns ? ['ip', 'netns', 'exec', ns, process.execPath, WORKLOAD, ...args] : [process.execPath, WORKLOAD, ...args];
  const out = await runIn(cg, cmd[0], cmd.slice(1));
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

async function startServer(cg: TestCgroup, ns: string | undefined, port: number, host = '::') {
  const child = spawnWorkload(cg, ns, ['server', String(port), host]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return child;
}

describe('TCP family end to end (root, real kernel, real OTLP)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let promPort: number;
  const cgroups: Record<string, TestCgroup> = {};
  const children: { kill(): void }[] = [];

  before(async () => {
    createTestHosts();
    for (const name of ['client', 'server', 'rtt', 'syn', 'other']) cgroups[name] = createCgroup(name);
    receiver = await startOtlpReceiver();
    promPort = await freePort();
    const config = writeConfig(`
families:
  tcp:
    enabled: true
    connectionSpans: true
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
  protocol: grpc
metrics:
  interval: 1000
prometheus:
  port: ${promPort}
console:
  interval: 1000
bpf:
  runTimeStats: true
`);
    agent = startAgent(['run', '--config', config]);
    await agent.waitFor(/kotel running/, 30_000);
  });

  after(async () => {
    for (const c of children) c.kill();
    await agent?.stop();
    await receiver?.close();
    removeTestHosts();
    for (const cg of Object.values(cgroups)) cg.remove();
  });

  test('loopback connections: lifecycle counts per cgroup, spans with tuple and bytes (IPv4 and IPv6)', async () => {
    const port = await freePort();
    children.push(await startServer(cgroups.server, undefined, port));
    const v4 = await runWorkload(cgroups.client, undefined, ['connects', '127.0.0.1', String(port), '5', '1000']);
    const v6 = await runWorkload(cgroups.client, undefined, ['connects', '::1', String(port), '3', '500']);
    const refused = await runWorkload(cgroups.client, undefined, ['connect-once', '127.0.0.1', String(await freePort())]);
    assert.equal(refused.code, 'ECONNREFUSED');

    const client = { 'cgroup.path': cgroups.client.path };
    const opens = await waitForPoint(
      receiver,
      'tcp.connection.events',
      { ...client, 'tcp.event': 'open_active' },
      (p) => p.value === 8,
      '8 active opens for the client cgroup',
    );
    assert.equal(opens.unit, '{event}');
    assert.equal(opens.kind, 'sum');
    assert.equal(opens.attributes['cgroup.id'], cgroups.client.id);
    await waitForPoint(
      receiver,
      'tcp.connection.events',
      { 'cgroup.path': cgroups.server.path, 'tcp.event': 'open_passive' },
      (p) => p.value === 8,
      '8 passive opens for the server cgroup',
    );
    await waitForPoint(
      receiver,
      'tcp.connection.events',
      { ...client, 'tcp.event': 'connect_failed' },
      (p) => p.value === 1,
      'one failed connect',
    );
    assert.equal(latest(receiver, 'tcp.connection.events', { 'cgroup.path': cgroups.other.path }), undefined, 'nothing for an idle cgroup');

    const connect = await waitForPoint(
      receiver,
      'tcp.connect.duration',
      { ...client, 'error.type': undefined },
      (p) => p.count === 8,
      '8 connect durations',
    );
    assert.equal(connect.unit, 's');
    assert.equal(connect.kind, 'exponentialHistogram');
    const refusedHist = latest(receiver, 'tcp.connect.duration', { ...client, 'error.type': 'ECONNREFUSED' });
    assert.equal(refusedHist?.count, 1);

    const listening = await waitForPoint(
      receiver,
      'tcp.connection.active',
      { 'cgroup.path': cgroups.server.path, 'tcp.state': 'listen' },
      (p) => p.value === 1,
      'the listener',
    );
    assert.equal(listening.unit, '{connection}');

    // one span per client connection, with the tuple and byte counts the workload saw
    const spans = await receiver.waitFor(
      () => {
        const s = receiver
          .spans()
          .filter(
            (x) =>
              x.name === 'tcp.connection' && x.attributes['cgroup.path'] === cgroups.client.path && x.attributes['tcp.open'] === 'active',
          );
        return s.length >= 8 ? s : undefined;
      },
      20_000,
      '8 client connection spans',
    );
    for (const conn of [...v4.conns, ...v6.conns]) {
      const span = spans.find((s) => s.attributes['network.local.port'] === conn.localPort);
      assert.ok(span, `span for local port ${conn.localPort}`);
      assert.equal(span.attributes['network.peer.port'], port);
      assert.ok((span.attributes['network.peer.address'] as string) === '127.0.0.1' || span.attributes['network.peer.address'] === '::1');
      const acked = span.attributes['tcp.bytes_acked'] as number;
      // the kernel's own counters count the SYN and FIN sequence numbers too
      assert.ok(acked >= conn.sent && acked <= conn.sent + 2, `bytes_acked ${acked} ~ sent ${conn.sent}`);
      const received = span.attributes['tcp.bytes_received'] as number;
      assert.ok(received >= conn.received && received <= conn.received + 2, `bytes_received ${received} ~ ${conn.received}`);
      assert.ok(BigInt(span.endTimeUnixNano) > BigInt(span.startTimeUnixNano));
      assert.equal(span.attributes['process.executable.name'], 'node');
    }
    assert.equal(spans.filter((s) => s.attributes['network.type'] === 'ipv6').length, 3);
  });

  test('RTT distribution: exact against bpftrace on the same tracepoint, plausible against ss -ti', async () => {
    const port = 5201;
    children.push(await startServer(cgroups.server, SERVER_NS, port, '0.0.0.0'));
    // a token bucket on the client's egress: the queue it builds is the RTT
    sh(`tc -n ${CLIENT_NS} qdisc replace dev kotel-c root tbf rate 4mbit burst 16kb latency 150ms`);
    // independent tracer: Debian's bpftrace on the classic tcp_probe tracepoint, the client socket only
    const tracer = await startBpftrace(
      `tracepoint:tcp:tcp_probe /args->dport == ${port} && args->srtt > 0/ { @count = count(); @sum_us = sum(args->srtt); }`,
    );
    // one sampling shell in the namespace: one exec per sample (an emulated guest manages a few per second)
    const sampler = spawn(
      tool('ip'),
      ['netns', 'exec', CLIENT_NS, 'sh', '-c', `while :; do ss -tin dst ${SERVER_ADDR}; sleep 0.025; done`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const samples: number[] = [];
    let ssOut = '';
    sampler.stdout.on('data', (d) => {
      const lines = (ssOut + d).split('\n');
      ssOut = lines.pop()!;
      for (const l of lines) {
        const m = / rtt:([\d.]+)\//.exec(l);
        if (m) samples.push(Number(m[1]) / 1000);
      }
    });
    try {
      // longer on a slow machine: ss needs the time for its 20 samples (an emulated guest at scale 8 gave 19 in
      // 24 s); the RTT is the queue's, not the run's
      await runWorkload(cgroups.rtt, CLIENT_NS, ['bulk', SERVER_ADDR, String(port), String(5 * TIME_SCALE)]);
    } finally {
      sampler.kill();
    }
    // the socket outlives the process while its queued data drains: stop tracing only once it is closed
    for (
      const end = Date.now() + scaled(5000);
      Date.now() < end && sh(`ip netns exec ${CLIENT_NS} ss -Htn exclude time-wait dst ${SERVER_ADDR}`).trim();
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const tracerMisses = tracer.misses();
    const traced = await tracer.stop();
    const count = Number(/@count: (\d+)/.exec(traced)?.[1]);
    const sumUs = Number(/@sum_us: (\d+)/.exec(traced)?.[1]);
    assert.ok(count > 100, `bpftrace saw ${count} tcp_probe events: ${traced}`);
    const bound = missBound(tracerMisses, count);

    // Both tracers can be skipped when another BPF program is running on that CPU; the kernel counts
    // those misses (bpftrace's in its program's recursion_misses, kotel's in kotel.events.dropped).
    const kotelMissed = () =>
      latest(receiver, 'kotel.events.dropped', { 'kotel.family': 'tcp', 'kotel.drop.reason': 'bpf_recursion' })?.value ?? 0;
    // the point that the checks below accept, not an earlier export still short of the last samples
    const rtt = await waitForPoint(
      receiver,
      'tcp.rtt',
      { 'cgroup.path': cgroups.rtt.path },
      (p) => p.count! - count <= bound && count - p.count! <= kotelMissed(),
      `${count} RTT samples, as bpftrace counted (it missed ${tracerMisses}, at most ${bound})`,
    );
    const kotelMisses = kotelMissed();
    assert.equal(rtt.unit, 's');
    if (bound === 0 && kotelMisses === 0) {
      assert.equal(rtt.count, count, 'exactly the events bpftrace saw');
      assert.ok(Math.abs(rtt.sum! - sumUs / 1e6) < 1e-6, `sum ${rtt.sum}s = bpftrace ${sumUs} us`);
    } else {
      assert.ok(
        rtt.count! - count <= bound && count - rtt.count! <= kotelMisses,
        `kotel ${rtt.count} vs bpftrace ${count}, misses ${tracerMisses} (at most ${bound})/${kotelMisses}`,
      );
    }
    // ss samples srtt over time, kotel per ACK: the same quantity with another weighting, so only the range is
    // compared: kotel's mean lies within what ss saw and nothing lands more than a bucket above ss's maximum
    assert.ok(samples.length >= 20, `ss gave ${samples.length} rtt samples`);
    const ssMax = Math.max(...samples);
    const mean = rtt.sum! / rtt.count!;
    assert.ok(mean > 0.01 && mean <= ssMax, `kotel mean srtt ${mean}s within ss's range (max ${ssMax}s)`);
    const above = rtt.counts!.slice(bucketOf(rtt.bounds!, 2 * ssMax) + 1).reduce((a, b) => a + b, 0);
    assert.equal(above, 0, `no RTT above 2x ss's max ${ssMax}s`);
  });

  test('a dropped SYN gives a ~1 s connect latency and a SYN retransmit', async () => {
    const port = 5202;
    children.push(await startServer(cgroups.server, SERVER_NS, port, '0.0.0.0'));
    dropFirstSyn(port);
    const res = await runWorkload(cgroups.syn, CLIENT_NS, ['connect-once', SERVER_ADDR, String(port)]);
    assert.ok(res.ok, 'connect succeeded after the retransmit');
    assert.ok(res.connectMs > 900, `connect took ${res.connectMs} ms`);
    assert.equal(droppedSyns(), 1);
    const syn = { 'cgroup.path': cgroups.syn.path };
    const retrans = await waitForPoint(
      receiver,
      'tcp.retransmits',
      { ...syn, 'tcp.state': 'syn_sent' },
      (p) => (p.value ?? 0) >= 1,
      'SYN retransmit',
    );
    assert.equal(retrans.value, droppedSyns());
    assert.equal(retrans.unit, '{segment}');
    const connect = await waitForPoint(
      receiver,
      'tcp.connect.duration',
      { ...syn, 'error.type': undefined },
      (p) => p.count === 1,
      'one connect duration',
    );
    // The workload's clock runs from its connect() call to node's callback; the kernel's from SYN to ESTABLISHED,
    // inside it. Under emulation (KOTEL_TEST_EMULATED: qemu TCG) the user-space part alone takes ~100 ms.
    if (process.env.KOTEL_TEST_EMULATED) {
      assert.ok(
        connect.sum! >= 1 && connect.sum! <= res.connectMs / 1000,
        `kotel ${connect.sum} s: the 1 s SYN timeout, within the workload's ${res.connectMs} ms`,
      );
      return;
    }
    // its bucket (4% wide) holds a value from the 1 s SYN timeout to the workload's own time
    const k = connect.counts!.indexOf(1);
    const [low, high] = [connect.bounds![k - 1], connect.bounds![k]];
    assert.ok(
      high >= 1 && low < res.connectMs / 1000,
      `the connect is in bucket (${low}, ${high}] s: from the 1 s SYN timeout to the workload's ${res.connectMs} ms; kotel: ${connect.sum} s`,
    );
    assert.ok(Math.abs(connect.sum! - res.connectMs / 1000) < 0.05, `sum ${connect.sum}s ~ ${res.connectMs}ms`);
  });

  test('the Prometheus endpoint serves the same metrics', async () => {
    const body = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    const line = body
      .split('\n')
      .find(
        (l) =>
          l.startsWith('tcp_connection_events') &&
          l.includes(`cgroup_path="${cgroups.client.path}"`) &&
          l.includes('tcp_event="open_active"'),
      );
    assert.ok(line, 'tcp_connection_events for the client cgroup');
    assert.equal(Number(line.split(' ').at(-1)), 8);
    // classic buckets whose bounds are kernel bucket edges: 2^-19 s (1.907 us) first, 2^-10 s as 976562 ns
    assert.match(body, /^tcp_rtt_seconds_bucket\{.*le="0\.000001907"/m);
    assert.match(body, /^tcp_rtt_seconds_bucket\{.*le="0\.000976562"/m);
    assert.match(body, /^kotel_probe_attached\{/m);
  });

  test('the console report prints the TCP metrics', async () => {
    await agent.waitFor(/tcp\.connection\.events/, 10_000, 'stdout');
    assert.match(agent.stdout(), /tcp\.rtt/);
    assert.match(agent.stdout(), /tcp\.connect\.duration/);
  });

  test('self-metrics: every probe attached, nothing dropped', async () => {
    for (const probe of ['tcp_probe', 'inet_sock_set_state', 'tcp_retransmit_skb']) {
      const p = await waitForPoint(receiver, 'kotel.probe.attached', { 'kotel.probe': probe }, () => true, `${probe} attach status`);
      assert.equal(p.value, 1);
      assert.ok(['tp_btf', 'raw_tp'].includes(p.attributes['kotel.hook'] as string), `${probe} on ${p.attributes['kotel.hook']}`);
    }
    const drops = receiver.metrics().filter((p) => p.name === 'kotel.events.dropped' && p.attributes['kotel.family'] === 'tcp');
    assert.ok(drops.length > 0, 'drop counters are exported');
    // a program skipped while the same program runs on that CPU (tcp_probe in a softirq over one in a
    // task: seen in a 6.12 guest) is the kernel's recursion guard, counted, not kotel losing its data
    const lost = drops.filter((p) => p.value !== 0).map((p) => `${p.attributes['kotel.drop.reason']} ${p.value}`);
    assert.ok(
      drops.every((p) => p.value === 0 || p.attributes['kotel.drop.reason'] === 'bpf_recursion'),
      `no drops but bpf_recursion: ${lost.join(', ')}`,
    );
    // bpf.runTimeStats is on: the kernel's run time and count per program are exported
    const runs = await waitForPoint(
      receiver,
      'kotel.bpf.runs',
      {
        'kotel.family': 'tcp',
        'kotel.program': latest(receiver, 'kotel.probe.attached', { 'kotel.probe': 'tcp_probe' })!.attributes['kotel.program'] as string,
      },
      (p) => (p.value ?? 0) > 0,
      'tcp_probe run count',
    );
    const time = latest(receiver, 'kotel.bpf.run.time', { 'kotel.program': runs.attributes['kotel.program'] as string });
    assert.equal(time?.unit, 's');
    assert.ok((time?.value ?? 0) > 0, 'run time is positive');
    // under emulation (KOTEL_TEST_EMULATED: a qemu TCG guest) every instruction costs ~10x: no budget to check
    if (!process.env.KOTEL_TEST_EMULATED)
      assert.ok(time!.value! / runs.value! < 1e-5, `per-run cost ${time!.value! / runs.value!} s is below 10 µs`);
  });
});
