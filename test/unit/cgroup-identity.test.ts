// k8s.pod.uid and container.id from cgroup paths recorded on real hosts (test/fixtures/cgroups/paths.json,
// each with its source): containerd, CRI-O, docker and podman, cgroupfs and systemd drivers, cgroup v1 and
// v2, kind and minikube nodes, and what is no pod or container (system services, user sessions, podman pods).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { identityFromCgroupPath } from '../../agent/src/host/containerIds';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { attributeLabel } from '../../agent/src/otel/ConsoleReportReader';

interface Recorded {
  what: string;
  path: string;
  podUid?: string;
  containerId?: string;
  source: string;
}

const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'cgroups', 'paths.json');
const recorded = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { paths: Recorded[] }).paths;

test('every recorded path gives the pod UID and container id it names, and nothing else', () => {
  assert.ok(recorded.length >= 30, 'the fixture lists the recorded paths');
  const wrong: string[] = [];
  for (const r of recorded) {
    const expected = { ...(r.podUid && { podUid: r.podUid }), ...(r.containerId && { containerId: r.containerId }) };
    const got = identityFromCgroupPath(r.path);
    if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push(`${r.what} (${r.source}): ${r.path} → ${JSON.stringify(got)}`);
  }
  assert.deepEqual(wrong, []);
});

test('the fixture covers each runtime, both drivers, and paths that name nothing', () => {
  const has = (re: RegExp, withPod: boolean) => recorded.some((r) => re.test(r.path) && Boolean(r.podUid) === withPod);
  for (const re of [/\/cri-containerd-[0-9a-f]{64}\.scope$/, /\/crio-[0-9a-f]{64}\.scope$/, /\/docker-[0-9a-f]{64}\.scope$/])
    assert.ok(has(re, true), `a systemd-driver pod path like ${re}`);
  assert.ok(has(/^\/kubepods\/(burstable\/|besteffort\/)?pod[0-9a-f-]{36}\/[0-9a-f]{64}$/, true), 'a cgroupfs-driver pod path');
  assert.ok(has(/^\/docker\/[0-9a-f]{64}$/, false), 'plain docker, cgroupfs');
  assert.ok(has(/^\/system\.slice\/docker-[0-9a-f]{64}\.scope$/, false), 'plain docker, systemd');
  assert.ok(recorded.filter((r) => !r.podUid && !r.containerId).length >= 10, 'negative cases');
});

test('the pod UID is the API server form: systemd slices write its dashes as underscores', () => {
  const systemd = identityFromCgroupPath(
    '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_0000_4000_8000_00000000abcd.slice',
  );
  assert.equal(systemd.podUid, '0a1b2c3d-0000-4000-8000-00000000abcd');
  // a directory named pod<uid> is a pod only below kubepods (cgroupfs driver)
  assert.deepEqual(identityFromCgroupPath('/system.slice/pod0a1b2c3d-0000-4000-8000-00000000abcd'), {});
  // a slice is a pod's only when the kubelet named it (kubepods...-pod<uid>.slice)
  assert.deepEqual(identityFromCgroupPath('/machine.slice/machine-pod0a1b2c3d_0000_4000_8000_00000000abcd.slice'), {});
  // a 64-hex name that is not a whole segment, or a conmon scope, is no container
  assert.deepEqual(identityFromCgroupPath(`/system.slice/docker-${'a'.repeat(64)}.service.d`), {});
  assert.deepEqual(identityFromCgroupPath(`/machine.slice/libpod-conmon-${'b'.repeat(64)}.scope`), {});
});

test('CgroupResolver attaches k8s.pod.uid and container.id to a cgroup attribute set, cached per cgroup id', () => {
  // a directory tree standing in for the cgroup2 mount: the resolver walks it and keys it by inode, as it
  // does /sys/fs/cgroup
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-cgroups-'));
  try {
    const pod = 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5a1d1140_a486_478c_afae_bbc975ff9c3b.slice';
    const ctr = `${pod}/cri-containerd-${'c'.repeat(64)}.scope`;
    for (const d of [ctr, 'system.slice/containerd.service']) fs.mkdirSync(path.join(root, d), { recursive: true });
    const resolver = new CgroupResolver(root);
    const attrs = (rel: string) => resolver.attributes(fs.statSync(path.join(root, rel)).ino);
    assert.deepEqual(attrs(ctr), {
      'cgroup.id': fs.statSync(path.join(root, ctr)).ino,
      'cgroup.path': `/${ctr}`,
      'k8s.pod.uid': '5a1d1140-a486-478c-afae-bbc975ff9c3b',
      'container.id': 'c'.repeat(64),
    });
    assert.equal(attrs(pod)['k8s.pod.uid'], '5a1d1140-a486-478c-afae-bbc975ff9c3b');
    assert.equal(attrs(pod)['container.id'], undefined);
    const service = attrs('system.slice/containerd.service');
    assert.equal(service['k8s.pod.uid'], undefined);
    assert.equal(service['container.id'], undefined);
    assert.equal(attrs(ctr), attrs(ctr), 'one attribute object per cgroup: no new series, no new allocation');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the console report labels a row by container, else by pod, else by cgroup path', () => {
  const uid = '5a1d1140-a486-478c-afae-bbc975ff9c3b';
  assert.equal(
    attributeLabel({ 'cgroup.path': '/x', 'k8s.pod.uid': uid, 'container.id': 'c'.repeat(64), 'tcp.state': 'close' }),
    `ctr:${'c'.repeat(12)} state=close`,
  );
  assert.equal(attributeLabel({ 'cgroup.path': '/x', 'k8s.pod.uid': uid }), 'pod:5a1d1140');
  assert.equal(attributeLabel({ 'cgroup.path': '/system.slice', 'cgroup.id': 1 }), '/system.slice');
});
