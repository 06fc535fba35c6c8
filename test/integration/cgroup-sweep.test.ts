// Kernel map entries of removed cgroups are swept (after being missing at two sweeps), so container churn
// does not fill the per-cgroup maps. Real TCP programs, a real test cgroup, removed by the test.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../agent/src/config';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { CgroupSweep } from '../../agent/src/probes/cgroupSweep';
import { loadFamilies } from '../../agent/src/probes/load';
import { readU64 } from '../../agent/src/kernel/mapValues';
import { tcpFamily } from '../../agent/src/probes/tcp';
import { createCgroup, runIn } from '../helpers/cgroup';

const WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');

test('entries of a removed cgroup leave the per-cgroup maps at the second sweep', async () => {
  const logger = pino({ level: 'silent' });
  const config = loadConfig({ env: {} });
  const load = loadFamilies(config, [tcpFamily], logger);
  assert.equal(load.loaded.length, 1, JSON.stringify(load.failed));
  const { object } = load.loaded[0];
  const server = net.createServer((s) => s.on('data', (d) => s.write(d))).listen(0, '127.0.0.1');
  try {
    await new Promise((r) => server.once('listening', r));
    const cg = createCgroup('sweep');
    await runIn(cg, process.execPath, [WORKLOAD, 'connects', '127.0.0.1', String((server.address() as net.AddressInfo).port), '2', '10']);
    const idsIn = (map: string) => {
      const b = object.readMap(map);
      return Array.from({ length: b.count }, (_, i) => readU64(b.keys, i * object.mapInfo(map).keySize));
    };
    assert.ok(idsIn('tcp_lifecycle').includes(cg.id), 'the test cgroup has lifecycle entries');
    const sweep = new CgroupSweep(load.loaded, new CgroupResolver(), logger);
    assert.equal(sweep.run(), 0, 'nothing swept while the cgroup exists');
    cg.remove();
    assert.equal(sweep.run(), 0, 'first sweep after removal only marks it');
    assert.ok(sweep.run() >= 2, 'second sweep deletes its entries (connect histogram + lifecycle at least)');
    for (const map of ['tcp_lifecycle', 'tcp_connect_hist', 'tcp_rtt_hist']) assert.ok(!idsIn(map).includes(cg.id), `${map} swept`);
  } finally {
    server.close();
    object.close();
  }
});
