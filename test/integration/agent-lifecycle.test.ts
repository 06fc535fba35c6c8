// The agent as a user meets it: `kotel probes`, a bad config, missing privileges, and a clean shutdown on
// SIGTERM that leaves no BPF program or link behind (bpftool before and after is the independent check).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { test } from 'node:test';
import { freePort, runCli, startAgent, writeConfig } from '../helpers/agentProcess';
import { trampolineOnlyMisses } from '../helpers/probesHere';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { tool } from '../helpers/tools';
import { scaled } from '../helpers/timing';

/** BPF program ids with names, from bpftool */
function bpfPrograms(): Map<number, string> {
  const list = JSON.parse(execFileSync(tool('bpftool'), ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  return new Map(list.map((p) => [p.id, p.name ?? '']));
}

function bpfLinks(): Set<number> {
  const list = JSON.parse(execFileSync(tool('bpftool'), ['-j', 'link', 'show'], { encoding: 'utf8' })) as { id: number }[];
  return new Set(list.map((l) => l.id));
}

const quiet = ['--no-otlp', '--no-console', '--no-prometheus'];

test('kotel probes lists every shipped probe with the hook that attached here', async () => {
  const { code, stdout, stderr } = await runCli(['probes', '--json']);
  // 3 where this kernel cannot attach some fentry/fexit probes (no BPF trampolines here)
  assert.equal(code, (await trampolineOnlyMisses()).size ? 3 : 0, stderr);
  const rows = JSON.parse(stdout) as { family: string; probe: string; status: string; hook?: string; reason?: string }[];
  const tcp = rows.filter((r) => r.family === 'tcp');
  assert.deepEqual(tcp.map((r) => r.probe).sort(), ['inet_sock_set_state', 'tcp_probe', 'tcp_retransmit_skb']);
  for (const r of tcp) {
    assert.equal(r.status, 'attached', `${r.probe}: ${r.reason}`);
    assert.ok(['tp_btf', 'raw_tp', 'tp'].includes(r.hook!), `${r.probe} hook ${r.hook}`);
  }
});

test('a bad config value exits 2 with one line naming the key', async () => {
  const config = writeConfig('otlp:\n  protocol: udp\n');
  const { code, stderr } = await runCli(['run', '--config', config]);
  assert.equal(code, 2);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /otlp\.protocol/);
  assert.match(lines[0], /udp/);
  assert.match(lines[0], /grpc/);
});

test('an unknown config key exits 2 with one line naming it', async () => {
  const config = writeConfig('prometheus:\n  prot: 9464\n');
  const { code, stderr } = await runCli(['run', '--config', config]);
  assert.equal(code, 2);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /prometheus\.prot/);
});

test('without privileges: one line saying what is missing, exit 1', async () => {
  // setpriv drops to nobody with no capabilities: the same binary, a user without CAP_BPF
  const { code, stderr } = await runCli(['run', ...quiet], {}, [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=-all',
  ]);
  assert.equal(code, 1);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /needs root.*CAP_BPF/);
});

test('SIGTERM: final export, exit 0, no BPF program or link left behind', async () => {
  const progsBefore = bpfPrograms();
  const linksBefore = bpfLinks();
  const agent = startAgent(['run', '--no-otlp', '--no-console', '--prometheus-port', String(await freePort())]);
  await agent.waitFor(/kotel running/, 30_000);
  const during = [...bpfPrograms()].filter(([id]) => !progsBefore.has(id)).map(([, name]) => name);
  assert.ok(
    during.some((n) => n.startsWith('tcp_probe')),
    `agent programs loaded: ${during.join(', ')}`,
  );
  assert.ok(
    [...bpfLinks()].some((id) => !linksBefore.has(id)),
    'agent links exist while running',
  );
  const code = await agent.stop();
  assert.equal(code, 0, agent.stderr());
  assert.match(agent.stderr(), /programs detached/);
  // the kernel frees programs after an RCU grace period once their last fd and link are gone: poll briefly
  let left: [number, string][];
  for (const end = Date.now() + scaled(5000); ;) {
    left = [...bpfPrograms()].filter(([id]) => !progsBefore.has(id));
    if (left.length === 0 || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(left, [], `no program left within ${scaled(5000)} ms`);
  assert.deepEqual(
    [...bpfLinks()].filter((id) => !linksBefore.has(id)),
    [],
    'no link left',
  );
});

test('SIGTERM flushes a final OTLP export', async () => {
  const receiver = await startOtlpReceiver();
  try {
    // an export interval far beyond the test: anything the receiver gets comes from the shutdown flush
    const agent = startAgent(['run', '--no-console', '--no-prometheus', '--otlp-endpoint', `http://127.0.0.1:${receiver.grpcPort}`], {
      KOTEL_METRICS_INTERVAL: '10m',
    });
    await agent.waitFor(/kotel running/, 30_000);
    assert.equal(receiver.metrics().length, 0, 'no export before the signal');
    // one TCP connection, so the kernel maps have something to report
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(receiver.grpcPort, '127.0.0.1', () => sock.end(resolve));
      sock.on('error', reject);
    });
    assert.equal(await agent.stop(), 0, agent.stderr());
    const names = new Set(receiver.metrics().map((p) => p.name));
    assert.ok(names.has('kotel.probe.attached'), `final export received: ${[...names].join(', ')}`);
    assert.ok(names.has('tcp.connection.events'), 'kernel metrics in the final export');
  } finally {
    await receiver.close();
  }
});
