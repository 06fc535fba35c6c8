// StringField (kernel/record.ts): the remembered decode of comm and device-name fields gives exactly what
// RecordReader.str() gives, for repeated, changing, unterminated, non-UTF-8 and control-character names,
// also once its Map is full and forgotten.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { RecordReader } from '../../agent/src/kernel/record';
import type { TypeLayout } from '../../agent/src/native';

const LAYOUT: TypeLayout = {
  size: 32,
  fields: { pad: { offset: 0, size: 4 }, name: { offset: 4, size: 16 }, tail: { offset: 20, size: 12 } },
} as unknown as TypeLayout;

test('StringField reads what str() reads, whatever the bytes and their order', () => {
  const r = new RecordReader(LAYOUT, ['name'] as const, 'test');
  const field = r.stringField('name', 8);
  const names: Buffer[] = [
    Buffer.from('rdma-workload'),
    Buffer.from('rdma-workload'),
    Buffer.from('rdma-workloae'),
    Buffer.from('rdma-work'),
    Buffer.from(''),
    Buffer.from('sixteen-bytes-xx'), // no NUL in the field: bounded by it
    Buffer.from([0xff, 0xfe, 0x41]), // invalid UTF-8
    Buffer.from('a\u001b[31mred'), // a terminal escape
    Buffer.from('é\u202etxt'), // multi-byte, a bidirectional override
    Buffer.from('rdma-workload'),
  ];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 40; i++) names.push(Buffer.from(Array.from({ length: Math.floor(rand() * 18) }, () => Math.floor(rand() * 256))));
  for (let i = 0; i < 40; i++) names.push(names[Math.floor(rand() * names.length)]);
  const buf = Buffer.alloc(names.length * LAYOUT.size, 0x55);
  names.forEach((n, i) => {
    const at = i * LAYOUT.size + 4;
    buf.fill(i % 3 === 0 ? 0 : 0x55, at, at + 16); // bytes after the NUL may be anything
    n.copy(buf, at, 0, Math.min(16, n.length));
    if (n.length < 16) buf[at + n.length] = 0;
  });
  for (let i = 0; i < names.length; i++) {
    const base = i * LAYOUT.size;
    assert.equal(field.read(buf, base), r.str(buf, base, 'name'), `record ${i}`);
  }
});
