// Pod and container attribution end to end: cgroups named as the kubelet and the container runtimes name
// them (containerd, CRI-O, docker; systemd and cgroupfs drivers) are made under a test cgroup on this host,
// a workload runs in each, and the real agent (real BPF: the sched family) exports their context switches
// over OTLP gRPC to a receiver in this test and on its Prometheus endpoint. Each point must carry the
// k8s.pod.uid and container.id its cgroup's path names, and none where the path names none; the resource
// carries the k8s.node.name the Kubernetes manifests pass through OTEL_RESOURCE_ATTRIBUTES.
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { freePort, startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';
import { CgroupResolver } from '../../agent/src/host/cgroups';

const hex64 = () => randomBytes(32).toString('hex');

interface Case {
  what: string;
  /** below the test cgroup */
  nested: string;
  podUid?: string;
  containerId?: string;
}

function cases(): Case[] {
  const [burstable, bestEffort, guaranteed] = [randomUUID(), randomUUID(), randomUUID()];
  const [containerd, containerdFs, crio, docker, dockerFs] = [hex64(), hex64(), hex64(), hex64(), hex64()];
  const systemd = (uid: string) => uid.replaceAll('-', '_');
  return [
    {
      what: 'containerd, systemd driver',
      nested: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${systemd(burstable)}.slice/cri-containerd-${containerd}.scope`,
      podUid: burstable,
      containerId: containerd,
    },
    {
      what: 'containerd, cgroupfs driver',
      nested: `kubepods/besteffort/pod${bestEffort}/${containerdFs}`,
      podUid: bestEffort,
      containerId: containerdFs,
    },
    {
      what: 'CRI-O, systemd driver',
      nested: `kubepods.slice/kubepods-pod${systemd(guaranteed)}.slice/crio-${crio}.scope`,
      podUid: guaranteed,
      containerId: crio,
    },
    {
      what: "CRI-O's conmon",
      nested: `kubepods.slice/kubepods-pod${systemd(guaranteed)}.slice/crio-conmon-${crio}.scope`,
      podUid: guaranteed,
    },
    { what: 'docker, systemd driver', nested: `system.slice/docker-${docker}.scope`, containerId: docker },
    { what: 'docker, cgroupfs driver', nested: `docker/${dockerFs}`, containerId: dockerFs },
    { what: 'a system service', nested: 'system.slice/containerd.service' },
    { what: 'a login session', nested: 'user.slice/user-1000.slice/session-1.scope' },
  ];
}

/** ~20 sleeps: voluntary context switches in the cgroup */
const SLEEPER = ['-c', 'i=0; while [ $i -lt 20 ]; do sleep 0.01; i=$((i+1)); done'];

describe('k8s.pod.uid and container.id from cgroup paths (root, real kernel, real OTLP)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let promPort: number;
  const all = cases();
  const cgroups = new Map<Case, TestCgroup>();

  before(async () => {
    for (const c of all) cgroups.set(c, createCgroup('k8s', c.nested));
    receiver = await startOtlpReceiver();
    promPort = await freePort();
    const config = writeConfig(`
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
metrics:
  interval: 1000
prometheus:
  port: ${promPort}
console:
  enabled: false
`);
    agent = startAgent(['run', '--config', config, '--families', 'sched'], { OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=node-a' });
    await agent.waitFor(/kotel running/, 30_000);
    await Promise.all(all.map((c) => runIn(cgroups.get(c)!, 'sh', SLEEPER)));
  });

  after(async () => {
    await agent?.stop();
    await receiver?.close();
    for (const cg of [...cgroups.values()].reverse()) cg.remove();
  });

  test('every point of a cgroup carries the pod and container its path names, and no other', async () => {
    for (const c of all) {
      const cg = cgroups.get(c)!;
      const p = await waitForPoint(
        receiver,
        'sched.context_switches',
        { 'cgroup.path': cg.path, 'context_switch.type': 'voluntary' },
        (pt) => (pt.value ?? 0) > 0,
        `context switches of ${c.what}`,
      );
      assert.equal(p.attributes['cgroup.id'], cg.id, c.what);
      assert.equal(p.attributes['k8s.pod.uid'], c.podUid, `${c.what}: k8s.pod.uid of ${cg.path}`);
      assert.equal(p.attributes['container.id'], c.containerId, `${c.what}: container.id of ${cg.path}`);
    }
  });

  test("the resource carries the node name from OTEL_RESOURCE_ATTRIBUTES, as the DaemonSet's downward API sets it", () => {
    const resources = receiver.resources().filter((r) => r.signal === 'metrics');
    assert.ok(resources.length > 0, 'metrics resources received');
    for (const r of resources) assert.equal(r.attributes['k8s.node.name'], 'node-a');
  });

  test('the Prometheus endpoint labels the same series with k8s_pod_uid and container_id', async () => {
    const body = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    const lines = body.split('\n').filter((l) => l.startsWith('sched_context_switches'));
    for (const c of all) {
      const line = lines.find((l) => l.includes(`cgroup_path="${cgroups.get(c)!.path}"`));
      assert.ok(line, `a sched_context_switches series for ${c.what}`);
      assert.equal(/k8s_pod_uid="([^"]*)"/.exec(line)?.[1], c.podUid, `${c.what}: ${line}`);
      assert.equal(/container_id="([^"]*)"/.exec(line)?.[1], c.containerId, `${c.what}: ${line}`);
    }
  });
});

describe('cgroup attributes of a cgroup made since the last scan (root, the cgroup2 tree)', () => {
  test('a new cgroup has its path and pod at its first lookup (one series, not one without them first); a cgroup gone does not rescan the tree each time', async () => {
    const gone = createCgroup('attr-gone');
    const goneId = gone.id;
    gone.remove();
    const resolver = new CgroupResolver(); // scans now
    const uid = randomUUID();
    const id = hex64();
    const cg = createCgroup('attr-fresh', `kubepods/besteffort/pod${uid}/${id}`);
    try {
      await new Promise((r) => setTimeout(r, 150));
      const attributes = resolver.attributes(cg.id);
      assert.deepEqual(attributes, { 'cgroup.id': cg.id, 'cgroup.path': cg.path, 'k8s.pod.uid': uid, 'container.id': id });
      let scans = 0;
      const scan = resolver.scan.bind(resolver);
      resolver.scan = () => {
        scans++;
        scan();
      };
      for (let i = 0; i < 5; i++) assert.equal(resolver.pathOf(goneId), undefined);
      assert.equal(scans, 0, 'no rescan for an id older than the newest cgroup');
    } finally {
      cg.remove();
    }
  });
});
