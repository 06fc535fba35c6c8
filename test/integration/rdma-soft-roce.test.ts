// The RDMA family on a real kernel RDMA stack: Soft-RoCE (rdma_rxe) over a veth pair the test makes, the real
// rxe provider of libibverbs, both paths at once — the kernel path (rdma_kernel: ib_core restrack,
// _ib_modify_qp, rdma_cma tracepoints) and the user path (uprobes on libibverbs). Ground truth: the kernel's
// own `rdma -j resource show`, the workloads' own tallies, ibv_rc_pingpong's printed QPNs.
// It makes an RDMA device, so it runs only where asked to (KOTEL_TEST_SOFT_ROCE=1), in a Debian guest:
//   node dist/test/kernels/run.js --output --env KOTEL_TEST_SOFT_ROCE=1 --env KOTEL_TEST_TIME_SCALE=3 6.12 -- \
//     node --test dist/test/integration/rdma-soft-roce.test.js
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort, startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';
import { createCgroup, type TestCgroup } from '../helpers/cgroup';
import { startOtlpReceiver, type DecodedSpan } from '../helpers/otlpReceiver';
import { latest, type Match, type Receiver } from '../helpers/points';
import { buildRdmaFixtures, parseTally, PYVERBS_SCRIPT, RDMA_WORKLOAD, VerbsWorkload } from '../helpers/rdma';
import { scaled } from '../helpers/timing';
import { tool } from '../helpers/tools';

const DEVICE = 'kotelrxe0';
const NETDEV = 'kotel-rv0';
const ADDR = '10.77.2.1'; // exists only on the veth the test makes (in the guest)
const TYPES = ['pd', 'cq', 'mr', 'qp'] as const;
const skip =
  process.env.KOTEL_TEST_SOFT_ROCE === '1'
    ? false
    : 'makes a Soft-RoCE device: run it in a Debian guest with KOTEL_TEST_SOFT_ROCE=1 (see the file header)';

function sh(cmd: string, args: string[]): string {
  return execFileSync(tool(cmd), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** the kernel's own objects of one type on the test device, by owner pid (0: the kernel's, e.g. ib_core's GSI QP) */
function kernelObjects(type: string): Map<number, number> {
  const rows = JSON.parse(sh('rdma', ['-j', 'resource', 'show', type]) || '[]') as { ifname: string; pid?: number }[];
  const byPid = new Map<number, number>();
  for (const r of rows.filter((r) => r.ifname === DEVICE)) byPid.set(r.pid ?? 0, (byPid.get(r.pid ?? 0) ?? 0) + 1);
  return byPid;
}

function count(receiver: Receiver, cg: TestCgroup, type: string, source: string): number | undefined {
  return latest(receiver, 'rdma.resource.active', {
    'cgroup.id': cg.id,
    'rdma.resource.type': type,
    'rdma.device': DEVICE,
    'rdma.source': source,
  })?.value;
}

async function waitValue(receiver: Receiver, name: string, match: Match, want: number, what: string): Promise<void> {
  await receiver
    .waitFor(() => latest(receiver, name, match)?.value === want, 20_000, `${what}: ${name} ${JSON.stringify(match)} = ${want}`)
    .catch((err) => {
      throw new Error(`${(err as Error).message}; last value ${latest(receiver, name, match)?.value}`);
    });
}

/** both paths count exactly the objects `rdma resource show` lists for pid, per type */
async function bothPathsEqualKernel(receiver: Receiver, cg: TestCgroup, pid: number, what: string): Promise<void> {
  for (const type of TYPES) {
    const truth = kernelObjects(type).get(pid) ?? 0;
    assert.ok(truth > 0, `${what}: the kernel lists the ${type}s of pid ${pid}`);
    for (const source of ['ib_core', 'libibverbs'])
      await waitValue(
        receiver,
        'rdma.resource.active',
        { 'cgroup.id': cg.id, 'rdma.resource.type': type, 'rdma.device': DEVICE, 'rdma.source': source },
        truth,
        `${what} (${source})`,
      );
  }
}

/** every count of the cgroup back to 0; an object or connection shorter than an export interval (pingpong,
 * rping) may never have made a series: with `sampled` false an absent series passes too */
async function bothPathsZero(receiver: Receiver, cg: TestCgroup, what: string, sampled = true): Promise<void> {
  const zero = async (name: string, match: Match, label: string) => {
    if (sampled || latest(receiver, name, match)) await waitValue(receiver, name, match, 0, label);
  };
  for (const source of ['ib_core', 'libibverbs']) {
    for (const type of TYPES)
      await zero(
        'rdma.resource.active',
        { 'cgroup.id': cg.id, 'rdma.resource.type': type, 'rdma.device': DEVICE, 'rdma.source': source },
        `${what} (${source})`,
      );
    await zero(
      'rdma.connection.active',
      { 'cgroup.id': cg.id, 'rdma.device': DEVICE, 'rdma.source': source },
      `${what}: connections (${source})`,
    );
  }
}

function qpSpans(receiver: Receiver, pid: number, source: string): DecodedSpan[] {
  return receiver
    .spans()
    .filter((s) => s.name === 'rdma.qp' && s.attributes['process.pid'] === pid && s.attributes['rdma.source'] === source);
}

describe('rdma on Soft-RoCE: kernel path and user path against the kernel', { skip, timeout: scaled(300_000) }, () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  const cgroups: Record<string, TestCgroup> = {};
  let pre: VerbsWorkload;

  before(async () => {
    buildRdmaFixtures(false);
    // not rdma_cm (nor rdma_ucm, which needs it): loaded after the agent, by a test below
    sh('modprobe', ['-a', 'rdma_rxe', 'ib_uverbs', 'veth']);
    assert.ok(!fs.existsSync('/sys/module/rdma_cm'), 'rdma_cm is not loaded yet');
    sh('ip', ['link', 'add', NETDEV, 'type', 'veth', 'peer', 'name', 'kotel-rv1']);
    sh('ip', ['addr', 'add', `${ADDR}/24`, 'dev', NETDEV]);
    // no duplicate address detection: while the link-local address (GID 0) is tentative, a QP's move to
    // RTR towards it fails with ETIMEDOUT (seen on 6.1)
    for (const dev of [NETDEV, 'kotel-rv1']) fs.writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/accept_dad`, '0');
    sh('ip', ['link', 'set', NETDEV, 'up']);
    sh('ip', ['link', 'set', 'kotel-rv1', 'up']);
    sh('rdma', ['link', 'add', DEVICE, 'type', 'rxe', 'netdev', NETDEV]);
    const deadline = Date.now() + scaled(20_000);
    while (sh('ip', ['-6', 'addr', 'show', 'dev', NETDEV]).includes('tentative') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    for (const name of ['rk-pre', 'rk-live', 'rk-kill', 'rk-pp', 'rk-rping', 'rk-py']) cgroups[name] = createCgroup(name);
    // objects older than the agent: the kernel path learns them from RDMA netlink, the user path cannot
    pre = new VerbsWorkload(cgroups['rk-pre'], RDMA_WORKLOAD, ['--device', DEVICE, '--hold', '--qps', '2', '--mrs', '1'], process.env);
    await pre.ready();
    receiver = await startOtlpReceiver();
    const config = writeConfig(`
families:
  tcp: { enabled: false }
  sched: { enabled: false }
  locks: { enabled: false }
  rdma: { enabled: true, kernel: true, seedFromNetlink: true, libraryScanInterval: 0 }
otlp: { endpoint: "http://127.0.0.1:${receiver.grpcPort}", protocol: grpc }
metrics: { interval: 1000 }
prometheus: { port: ${await freePort()} }
console: { enabled: false }
bpf: { moduleWatchInterval: 500 }
`);
    agent = startAgent(['run', '--config', config]);
    await agent.waitFor(/kotel running/, 60_000);
  });

  after(async () => {
    pre?.child.kill('SIGKILL');
    await agent?.stop();
    await receiver?.close();
    // a workload a failed test left behind keeps its uverbs file open, and `rdma link delete` would wait for
    // it in the kernel for ever (seen once on 6.1): none may be left
    for (const cg of Object.values(cgroups)) await cg.killAll();
    for (const cg of Object.values(cgroups)) cg.remove();
    try {
      sh('rdma', ['link', 'delete', DEVICE]);
      sh('ip', ['link', 'del', NETDEV]);
    } catch {
      /* never made */
    }
  });

  test('every kernel probe attaches on its first rung (fexit/fentry, tp_btf)', () => {
    const log = agent.stderr();
    assert.match(log, /rdma_kernel\/rdma_restrack_add: attached fexit/);
    assert.match(log, /rdma_kernel\/rdma_restrack_del: attached fentry/);
    // Debian's 6.1 and 6.12 delete PDs, CQs, QPs and SRQs in two phases
    if (/ rdma_restrack_commit_del\b/.test(fs.readFileSync('/proc/kallsyms', 'utf8')))
      assert.match(log, /rdma_kernel\/rdma_restrack_commit_del: attached fentry/);
    assert.match(log, /rdma_kernel\/_ib_modify_qp: attached fexit/);
  });

  test('rdma_cm loaded after kotel started: its family loads when the module appears', async () => {
    assert.match(agent.stderr(), /family rdma_cm unavailable: rdma_cm not loaded: `modprobe rdma_cm`/);
    const attached = (probe: string) =>
      latest(receiver, 'kotel.probe.attached', { 'kotel.family': 'rdma_cm', 'kotel.probe': probe })?.value;
    await receiver.waitFor(() => attached('*') === 0 || undefined, 20_000, 'kotel.probe.attached 0 for the unavailable family');
    assert.equal(
      latest(receiver, 'kotel.probe.attached', { 'kotel.family': 'rdma_cm', 'kotel.probe': '*' })?.attributes['error.type'],
      'module_not_loaded',
    );
    sh('modprobe', ['-a', 'rdma_cm', 'rdma_ucm']);
    await agent.waitFor(/family rdma_cm running \(8 probes attached\)/, 30_000);
    assert.match(agent.stderr(), /rdma_cm\/rdma_cma\/cm_send_req: attached tp_btf/);
    await receiver.waitFor(() => attached('rdma_cma/cm_send_req') === 1 || undefined, 20_000, 'kotel.probe.attached 1 for cm_send_req');
  });

  test('objects older than kotel: seeded from netlink, equal to rdma resource show; the user path never saw them', async () => {
    for (const type of TYPES) {
      const truth = kernelObjects(type).get(pre.pid) ?? 0;
      await waitValue(
        receiver,
        'rdma.resource.active',
        { 'cgroup.id': cgroups['rk-pre'].id, 'rdma.resource.type': type, 'rdma.device': DEVICE, 'rdma.source': 'ib_core' },
        truth,
        `seeded ${type}`,
      );
      assert.ok(!count(receiver, cgroups['rk-pre'], type, 'libibverbs'), `user path: no ${type} of the older workload`);
    }
    // ib_core's own GSI QP (and its PD and CQ) from the moment the device exists: the kernel's, cgroup 0
    const gsi = kernelObjects('qp').get(0) ?? 0;
    assert.ok(gsi >= 1, 'the kernel lists its GSI QP');
    await waitValue(
      receiver,
      'rdma.resource.active',
      { 'cgroup.id': 0, 'rdma.resource.type': 'qp', 'rdma.device': DEVICE, 'rdma.source': 'ib_core' },
      gsi,
      'kernel-owned QPs',
    );
  });

  test('a live workload: both paths count what the kernel lists, agree on connections and transitions, spans end at destroy', async () => {
    const cg = cgroups['rk-live'];
    const w = new VerbsWorkload(cg, RDMA_WORKLOAD, ['--device', DEVICE, '--hold', '--qps', '3', '--mrs', '2'], process.env);
    await w.ready();
    await bothPathsEqualKernel(receiver, cg, w.pid, 'live workload');
    for (const source of ['ib_core', 'libibverbs']) {
      await waitValue(
        receiver,
        'rdma.connection.active',
        { 'cgroup.id': cg.id, 'rdma.device': DEVICE, 'rdma.source': source },
        3,
        `connections (${source})`,
      );
      for (const state of ['init', 'rtr', 'rts'])
        await waitValue(
          receiver,
          'rdma.qp.transitions',
          { 'cgroup.id': cg.id, 'rdma.qp.state': state, 'rdma.source': source },
          3,
          `transitions to ${state} (${source})`,
        );
    }
    const tally = parseTally(await w.finish());
    assert.equal(tally.device, DEVICE);
    await bothPathsZero(receiver, cg, 'after a normal exit');
    for (const source of ['ib_core', 'libibverbs']) {
      await receiver.waitFor(() => qpSpans(receiver, tally.pid, source).length === 3 || undefined, 20_000, `three ${source} QP spans`);
      const spans = qpSpans(receiver, tally.pid, source);
      assert.deepEqual(spans.map((s) => s.attributes['rdma.src.qp_num']).sort(), tally.qps.map((q) => q.qpn).sort(), `${source}: the QPNs`);
      for (const s of spans) {
        assert.equal(s.attributes['rdma.qp.end'], 'destroy');
        assert.equal(s.attributes['rdma.dst.gid'], tally.dgid);
        assert.equal(s.attributes['rdma.device'], DEVICE);
      }
    }
  });

  test('SIGKILL: the kernel frees the objects and both paths return to 0', async () => {
    const cg = cgroups['rk-kill'];
    const w = new VerbsWorkload(cg, RDMA_WORKLOAD, ['--device', DEVICE, '--hold', '--qps', '2', '--mrs', '1'], process.env);
    await w.ready();
    await bothPathsEqualKernel(receiver, cg, w.pid, 'before the kill');
    for (const source of ['ib_core', 'libibverbs'])
      await waitValue(
        receiver,
        'rdma.connection.active',
        { 'cgroup.id': cg.id, 'rdma.device': DEVICE, 'rdma.source': source },
        2,
        `connections before the kill (${source})`,
      );
    w.child.kill('SIGKILL');
    await w.exited;
    await bothPathsZero(receiver, cg, 'after SIGKILL');
    for (const type of TYPES) assert.equal(kernelObjects(type).get(w.pid) ?? 0, 0, `the kernel freed the ${type}s`);
  });

  test('ibv_rc_pingpong: each side’s QP span carries the tuple it printed; rping: rdma_cm events', async () => {
    const pp = cgroups['rk-pp'];
    const server = new VerbsWorkload(pp, tool('ibv_rc_pingpong'), ['-d', DEVICE, '-g', '1', '-n', '20'], process.env);
    await new Promise((r) => setTimeout(r, scaled(1000)));
    const client = new VerbsWorkload(pp, tool('ibv_rc_pingpong'), ['-d', DEVICE, '-g', '1', '-n', '20', '127.0.0.1'], process.env);
    const [serverOut, clientOut] = [await server.finish(), await client.finish()];
    for (const [w, out] of [
      [server, serverOut],
      [client, clientOut],
    ] as const) {
      const local = /local address:.*QPN 0x([0-9a-f]+)/.exec(out);
      const remote = /remote address:.*QPN 0x([0-9a-f]+)/.exec(out);
      assert.ok(local && remote, `pingpong printed its QPNs: ${out}`);
      for (const source of ['ib_core', 'libibverbs']) {
        await receiver.waitFor(
          () => qpSpans(receiver, w.pid, source).length === 1 || undefined,
          20_000,
          `pingpong ${w.pid} ${source} span`,
        );
        const [span] = qpSpans(receiver, w.pid, source);
        assert.equal(span.attributes['rdma.src.qp_num'], parseInt(local[1], 16), `${source}: local QPN`);
        assert.equal(span.attributes['rdma.dst.qp_num'], parseInt(remote[1], 16), `${source}: remote QPN`);
      }
    }
    await bothPathsZero(receiver, pp, 'pingpong done', false);

    const rp = cgroups['rk-rping'];
    const rserver = new VerbsWorkload(rp, tool('rping'), ['-s', '-a', ADDR, '-C', '3'], process.env);
    await new Promise((r) => setTimeout(r, scaled(1000)));
    const rclient = new VerbsWorkload(rp, tool('rping'), ['-c', '-a', ADDR, '-C', '3'], process.env);
    await rclient.finish();
    await rserver.finish();
    // librdmacm makes its QPs with the inline ibv_create_qp_ex, which only the kernel path sees
    for (const w of [rserver, rclient])
      await receiver.waitFor(() => qpSpans(receiver, w.pid, 'ib_core').length === 1 || undefined, 20_000, `rping ${w.pid} ib_core QP span`);
    for (const event of ['send_req', 'send_rep', 'disconnect']) {
      await receiver.waitFor(
        () => (latest(receiver, 'rdma.cm.events', { 'cgroup.id': rp.id, 'rdma.cm.event': event })?.value ?? 0) >= 1 || undefined,
        20_000,
        `rdma.cm.events ${event}`,
      );
    }
    await bothPathsZero(receiver, rp, 'rping done', false);
  });

  test('a pyverbs client: one QP, one span on each path', async () => {
    const w = new VerbsWorkload(cgroups['rk-py'], tool('/usr/bin/python3'), [PYVERBS_SCRIPT], process.env);
    const out = JSON.parse((await w.finish()).trim()) as { pid: number; device: string; qpn: number };
    assert.equal(out.device, DEVICE);
    for (const source of ['ib_core', 'libibverbs']) {
      await receiver.waitFor(() => qpSpans(receiver, out.pid, source).length === 1 || undefined, 20_000, `pyverbs ${source} span`);
      assert.equal(qpSpans(receiver, out.pid, source)[0].attributes['rdma.src.qp_num'], out.qpn);
    }
  });

  test('seeded objects leave the count when the kernel deletes them', async () => {
    await pre.finish();
    for (const type of TYPES)
      await waitValue(
        receiver,
        'rdma.resource.active',
        { 'cgroup.id': cgroups['rk-pre'].id, 'rdma.resource.type': type, 'rdma.device': DEVICE, 'rdma.source': 'ib_core' },
        0,
        `seeded ${type} gone`,
      );
  });
});
