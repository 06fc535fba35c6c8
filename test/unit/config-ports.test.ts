// The 'ports' config format (families.tcp.requestPorts): a YAML list or a comma-separated string, up to 8
// ports 1-65535; anything else is one line naming the key.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../agent/src/config';

function withFile(yaml: string) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-ports-')), 'kotel.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

test('requestPorts: a list in the file, a string in the environment, empty by default', () => {
  assert.equal(loadConfig({ env: {} }).families.tcp.requestPorts, '');
  assert.equal(
    loadConfig({ env: {}, file: withFile('families:\n  tcp:\n    requestPorts: [80, 443]\n') }).families.tcp.requestPorts,
    '80,443',
  );
  assert.equal(loadConfig({ env: { KOTEL_FAMILIES_TCP_REQUEST_PORTS: '8080, 9090' } }).families.tcp.requestPorts, '8080, 9090');
});

test('requestPorts: not a port, or more than 8: one line naming the key', () => {
  for (const [value, why] of [
    ['80,http', '"http" is no port 1-65535'],
    ['0', '"0" is no port 1-65535'],
    ['1,2,3,4,5,6,7,8,9', 'at most 8 ports'],
  ]) {
    assert.throws(
      () => loadConfig({ env: { KOTEL_FAMILIES_TCP_REQUEST_PORTS: value } }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes('families.tcp.requestPorts') && e.message.includes(why) && !e.message.includes('\n'),
      value,
    );
  }
});
