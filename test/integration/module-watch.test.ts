// A family unavailable at start because its kernel module is not loaded (ib_core, rdma_cm) is loaded and
// started when its pre-check passes (agent/src/probes/moduleWatch.ts). The module is a stand-in here (this
// kernel has no modules): the locks family, real BPF object and real attach, behind a pre-check the test
// flips; the real modules are the Soft-RoCE suite's (rdma_cm loaded after the agent, in the guests).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { loadConfig } from '../../agent/src/config';
import { loadFamilies, type LoadedFamily } from '../../agent/src/probes/load';
import { locksFamily } from '../../agent/src/probes/locks';
import { watchModules } from '../../agent/src/probes/moduleWatch';
import type { Family } from '../../agent/src/probes/types';
import { captureLogger } from '../helpers/captureLogger';

const notRoot = process.getuid?.() !== 0;

async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), what);
}

test('a family whose module appears after start is loaded, started and reported then', { skip: notRoot && 'needs root' }, async () => {
  let moduleLoaded = false;
  const family: Family = {
    ...locksFamily,
    modules: ['kotel_stand_in'],
    unavailable: () =>
      moduleLoaded ? undefined : { code: 'module_not_loaded', reason: 'kotel_stand_in not loaded: `modprobe kotel_stand_in`' },
  };
  const config = loadConfig({ env: { KOTEL_BPF_MODULE_WATCH_INTERVAL: '50' } });
  const { logger, lines } = captureLogger('info');
  const load = loadFamilies(config, [family], logger);
  assert.deepEqual(
    load.failed.map((f) => [f.family.name, f.code, f.reason]),
    [['locks', 'module_not_loaded', 'kotel_stand_in not loaded: `modprobe kotel_stand_in`']],
  );
  const started: LoadedFamily[] = [];
  const stop = watchModules(config, load, logger, (l) => started.push(l));
  try {
    assert.ok(
      lines.some((l) => l.msg === 'family locks: loaded when kotel_stand_in appears (checked every 50 ms)'),
      JSON.stringify(lines),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(load.loaded.length, 0, 'nothing loaded while the module is missing');
    moduleLoaded = true;
    await until(() => started.length === 1, 'started once the module appeared');
    assert.equal(load.failed.length, 0, 'no longer reported as failed');
    assert.equal(load.loaded.length, 1);
    assert.ok(
      load.loaded[0].attachments.every((a) => a.attached),
      'every probe attached',
    );
    assert.ok(
      lines.some((l) => /^family locks running \(\d+ probes attached\)$/.test(l.msg)),
      JSON.stringify(lines),
    );
  } finally {
    stop();
    for (const { object } of load.loaded) object.close();
  }
});

test(
  'a family that still fails once its module appeared stays failed, with the load error',
  { skip: notRoot && 'needs root' },
  async () => {
    let moduleLoaded = false;
    const family: Family = {
      ...locksFamily,
      modules: ['kotel_stand_in'],
      unavailable: () => (moduleLoaded ? undefined : { code: 'module_not_loaded', reason: 'kotel_stand_in not loaded' }),
    };
    const config = loadConfig({ env: { KOTEL_BPF_MODULE_WATCH_INTERVAL: '50', KOTEL_BPF_OBJECT_DIR: '/nonexistent' } });
    const { logger } = captureLogger('info');
    const load = loadFamilies(config, [family], logger);
    const stop = watchModules(config, load, logger, () => assert.fail('nothing to start'));
    try {
      moduleLoaded = true;
      await until(() => load.failed[0]?.code === 'load_failed', 'the load failure replaces the unavailable reason');
      assert.match(load.failed[0].reason, /\/nonexistent\/locks\.bpf\.o/);
      assert.equal(load.loaded.length, 0);
    } finally {
      stop();
    }
  },
);
