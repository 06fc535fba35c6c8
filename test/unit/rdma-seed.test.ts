// Netlink seeding of the RDMA kernel path runs iproute2's `rdma -j resource show <type>`. There is no RDMA
// here, so `rdma` is a stand-in on PATH (a Node script printing what rdma prints, for many objects); the
// code under test is the agent's own runner, unchanged.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { seedFromNetlink } from '../../agent/src/probes/rdma/seed';

const QPS = 20_000;
let dir: string;
let savedPath: string | undefined;

/** installs the stand-in `rdma`: `body` is JavaScript run with `show` (the object type asked for) */
function standIn(body: string): void {
  const file = path.join(dir, 'rdma');
  fs.writeFileSync(file, `#!${process.execPath}\nconst show = process.argv[process.argv.length - 1];\n${body}\n`, { mode: 0o755 });
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-rdma-standin-'));
  savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ''}`;
});

after(() => {
  process.env.PATH = savedPath;
  fs.rmSync(dir, { recursive: true, force: true });
});

test(`seeding reads ${QPS} QPs (more than 1 MiB of \`rdma -j\` output) without blocking the event loop`, async () => {
  // what `rdma -j resource show qp` prints, one row per QP
  const rows = Array.from({ length: QPS }, (_, i) => ({
    ifindex: 0,
    ifname: 'mlx5_0',
    port: 1,
    lqpn: 0x100 + i,
    rqpn: 0x200 + i,
    type: 'RC',
    state: 'RTS',
    'rq-psn': 12345,
    'sq-psn': 54321,
    'path-mig-state': 'ARMED',
    pdn: 3,
    pid: 4242,
    comm: 'ib_write_bw',
  }));
  const listing = path.join(dir, 'qps.json');
  fs.writeFileSync(listing, JSON.stringify(rows) + '\n');
  assert.ok(fs.statSync(listing).size > 1024 * 1024, 'more than the 1 MiB execFileSync buffers by default');
  standIn(`process.stdout.write(show === 'qp' ? require('fs').readFileSync(${JSON.stringify(listing)}) : '[]\\n');`);
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  try {
    const seeded = await seedFromNetlink((pid) => (pid === 4242 ? 77 : 0));
    assert.ok(seeded.ok, `seeded: ${JSON.stringify(seeded).slice(0, 200)}`);
    assert.equal(seeded.objects.length, QPS);
    assert.deepEqual(seeded.objects[QPS - 1], { id: 0x100 + QPS - 1, type: 5, device: 'mlx5_0', tgid: 4242, cgroupId: 77 });
    assert.ok(turns > 0, 'timers ran while `rdma` was listing: start-up is not blocked');
  } finally {
    clearInterval(tick);
  }
});

test('a failing or garbled `rdma` is one line naming the command', async () => {
  standIn(`process.stderr.write('Failed to open NETLINK_RDMA socket\\nmore\\n'); process.exit(1);`);
  assert.deepEqual(await seedFromNetlink(() => 0), { ok: false, reason: 'rdma resource show ctx: Failed to open NETLINK_RDMA socket' });
  standIn(`process.stdout.write(show === 'pd' ? '[{"ifname": ' : '[]');`);
  const garbled = await seedFromNetlink(() => 0);
  assert.equal(garbled.ok, false);
  assert.match(garbled.ok ? '' : garbled.reason, /^rdma resource show pd: unreadable output \([^\n]+\)$/);
  fs.rmSync(path.join(dir, 'rdma'));
  const saved = process.env.PATH;
  process.env.PATH = dir;
  try {
    assert.deepEqual(await seedFromNetlink(() => 0), { ok: false, reason: '`rdma` (iproute2) not installed' });
  } finally {
    process.env.PATH = saved;
  }
});
