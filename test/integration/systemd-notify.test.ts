// The agent under systemd's notification protocol (Type=notify), with an independent receiver (python3) on
// the socket named by NOTIFY_SOCKET: READY=1 once the probes attached, the Prometheus endpoint answers and
// the first OTLP export is done; STOPPING=1 at SIGTERM; WATCHDOG=1 at half of WATCHDOG_USEC; the abstract
// namespace form; a malformed NOTIFY_SOCKET is one line and exit 2.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runCli, startAgent } from '../helpers/agentProcess';
import { startNotifyReceiver } from '../helpers/notifyReceiver';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { scaled } from '../helpers/timing';

const notRoot = process.getuid?.() !== 0;

async function answers(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url)).status;
  } catch {
    return undefined;
  }
}

describe('systemd notifications', { skip: notRoot && 'needs root' }, () => {
  test('READY=1 after the Prometheus endpoint answers and the first OTLP export; STOPPING=1 at SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-notify-'));
    const notify = await startNotifyReceiver(path.join(dir, 'notify.sock'));
    const otlp = await startOtlpReceiver();
    const port = await freePort();
    const agent = startAgent(
      [
        'run',
        '--no-console',
        '--families',
        'tcp',
        '--prometheus-port',
        String(port),
        '--otlp-endpoint',
        `http://127.0.0.1:${otlp.grpcPort}`,
      ],
      // a watchdog meant for another process (WATCHDOG_PID) is not kotel's to feed
      { NOTIFY_SOCKET: notify.socket, KOTEL_METRICS_INTERVAL: '2000', WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' },
    );
    try {
      let prometheusAt: number | undefined;
      const deadline = Date.now() + scaled(30_000);
      while (prometheusAt === undefined && !notify.received().some((n) => n.fields.READY) && Date.now() < deadline) {
        if ((await answers(`http://127.0.0.1:${port}/metrics`)) === 200) prometheusAt = Date.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
      const ready = await notify.waitFor('READY', 60_000);
      assert.ok(
        prometheusAt !== undefined && prometheusAt <= ready.at,
        `Prometheus answered (at ${prometheusAt}) before READY=1 (at ${ready.at})`,
      );
      assert.equal(ready.fields.READY, '1');
      assert.ok(otlp.requests().metrics >= 1, 'the first OTLP export arrived before READY=1');
      assert.equal(ready.fields.STATUS, 'tcp: 3 of 3 probes attached; first OTLP export ok');
      assert.equal(await answers(`http://127.0.0.1:${port}/readyz`), 200);
      const waiting = notify.received().find((n) => /waiting for the first OTLP metrics export/.test(n.fields.STATUS ?? ''));
      assert.ok(waiting && waiting.at <= ready.at && Number(waiting.fields.EXTEND_TIMEOUT_USEC) >= 2_000_000, JSON.stringify(waiting));

      assert.equal(await agent.stop(), 0, agent.stderr());
      const stopping = await notify.waitFor('STOPPING', 5_000);
      assert.ok(stopping.at >= ready.at);
      assert.match(stopping.fields.STATUS, /SIGTERM/);
      assert.deepEqual(
        notify.received().filter((n) => 'WATCHDOG' in n.fields),
        [],
        'no WATCHDOG=1 for a watchdog of another pid',
      );
    } finally {
      await agent.stop();
      notify.close();
      await otlp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an abstract-namespace socket (@name); WATCHDOG=1 at half of WATCHDOG_USEC', async () => {
    const notify = await startNotifyReceiver(`@kotel-notify-test-${process.pid}`);
    const agent = startAgent(['run', '--no-console', '--no-otlp', '--families', 'tcp', '--prometheus-port', String(await freePort())], {
      NOTIFY_SOCKET: notify.socket,
      WATCHDOG_USEC: '600000',
    });
    try {
      const ready = await notify.waitFor('READY', 60_000);
      assert.equal(ready.fields.STATUS, 'tcp: 3 of 3 probes attached');
      await new Promise((r) => setTimeout(r, scaled(2000)));
      const pings = notify.received().filter((n) => n.fields.WATCHDOG === '1');
      assert.ok(pings.length >= 4, `WATCHDOG=1 about every 300 ms: ${pings.length}`);
      const gaps = pings.slice(1).map((p, i) => p.at - pings[i].at);
      assert.ok(
        gaps.every((g) => g > 150 && g < scaled(600)),
        `gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
      );
      assert.equal(await agent.stop(), 0, agent.stderr());
      await notify.waitFor('STOPPING', 5_000);
    } finally {
      await agent.stop();
      notify.close();
    }
  });

  test('a malformed NOTIFY_SOCKET is one line naming it, exit 2', async () => {
    const { code, stderr } = await runCli(['run', '--no-console', '--no-otlp', '--no-prometheus'], {
      NOTIFY_SOCKET: 'relative/notify.sock',
    });
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^kotel: NOTIFY_SOCKET="relative\/notify.sock": not an absolute path or @abstract name/);
  });
});
