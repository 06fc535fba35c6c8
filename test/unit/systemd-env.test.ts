// What systemd hands a Type=notify service (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID), checked the way
// sd_notify(3) and sd_watchdog_enabled(3) read them; a malformed value is one line naming the variable.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createLogger } from '../../agent/src/log';
import { notifyEnv, SystemdNotifier } from '../../agent/src/host/systemd';

test('no NOTIFY_SOCKET: no notifier', () => {
  assert.equal(notifyEnv({}), undefined);
  assert.equal(notifyEnv({ NOTIFY_SOCKET: '' }), undefined);
});

test('a path or an abstract @name; the watchdog at half of WATCHDOG_USEC when it is this process’s', () => {
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '/run/systemd/notify' }), { socket: '/run/systemd/notify' });
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '@kotel' }), { socket: '@kotel' });
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000' }, 42), { socket: '/n', watchdogMs: 15_000 });
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), {
    socket: '/n',
    watchdogMs: 15_000,
  });
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42), { socket: '/n' });
});

test('malformed values: one line naming the variable and what it should be', () => {
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ NOTIFY_SOCKET: 'notify.sock' }, /^NOTIFY_SOCKET="notify.sock": not an absolute path or @abstract name of at most 107 bytes/],
    [{ NOTIFY_SOCKET: `/${'x'.repeat(107)}` }, /^NOTIFY_SOCKET="\/x+": not an absolute path/],
    [{ NOTIFY_SOCKET: 'vsock:2:1234' }, /^NOTIFY_SOCKET="vsock:2:1234"/],
    [{ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '0' }, /^WATCHDOG_USEC="0": not a positive number of microseconds/],
    [{ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30s' }, /^WATCHDOG_USEC="30s"/],
  ];
  for (const [env, message] of bad) {
    assert.throws(
      () => notifyEnv(env),
      (err: Error) => message.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(env),
    );
  }
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: `/${'x'.repeat(106)}` })?.socket.length, 107, 'the longest path that fits');
});

test('fromEnv takes the variables out of the environment, so the agent’s children do not notify', () => {
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/nonexistent/notify', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1', PATH: '/bin' };
  const notifier = SystemdNotifier.fromEnv(createLogger('fatal'), env);
  notifier?.close();
  assert.equal(notifier?.env.socket, '/nonexistent/notify');
  assert.deepEqual(env, { PATH: '/bin' });
});

test('a notification that cannot be sent is false, not an exception', () => {
  const notifier = new SystemdNotifier({ socket: '/nonexistent/notify' }, createLogger('fatal'));
  assert.equal(notifier.ready('x'), false);
  assert.equal(notifier.stopping('y'), false);
});
