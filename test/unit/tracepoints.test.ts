// hasTracepoint: the running kernel's BTF names every tracepoint it has as btf_trace_<name>.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { hasTracepoint } from '../../agent/src/host/tracepoints';

test('a tracepoint is there when its btf_trace_ name is a whole string of the BTF', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-btf-')), 'vmlinux');
  fs.writeFileSync(file, Buffer.from('\x9f\xeb\x01\0btf_trace_tcp_probe\0btf_trace_sock_send_length_x\0', 'latin1'));
  assert.equal(hasTracepoint('tcp_probe', file), true);
  assert.equal(hasTracepoint('sock_send_length', file), false, 'a longer name is another tracepoint');
  assert.equal(hasTracepoint('tcp_probe', path.join(path.dirname(file), 'missing')), undefined, 'no BTF: unknown');
});

test('this kernel: tcp_probe is there, a made-up name is not', () => {
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return;
  assert.equal(hasTracepoint('tcp_probe'), true);
  assert.equal(hasTracepoint('kotel_no_such_tracepoint'), false);
});
