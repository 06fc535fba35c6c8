// The interrupts family's map kinds (bpf/interrupts.h: vector, | (cpu + 1) << 16 with perCpu) as attributes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { irqAttributesOf, irqHandlerName, softirqAttributes, splitKind } from '../../agent/src/probes/interrupts/vectors';

test('a kind is the vector, with the CPU + 1 in its high half', () => {
  assert.deepEqual(splitKind(3), { vector: 3 });
  assert.deepEqual(splitKind(3 | (1 << 16)), { vector: 3, cpu: 0 });
  assert.deepEqual(splitKind(65535 | (4096 << 16)), { vector: 65535, cpu: 4095 });
});

test('softirq vectors are named as /proc/softirqs names them; one the kernel added since is still shown', () => {
  assert.deepEqual(softirqAttributes(3), { 'softirq.type': 'net_rx' });
  assert.deepEqual(softirqAttributes(9 | (3 << 16)), { 'softirq.type': 'rcu', 'cpu.id': 2 });
  assert.deepEqual(softirqAttributes(10), { 'softirq.type': 'vector_10' });
});

test('IRQ handler names come from /sys/kernel/irq/<n>/actions, read once per IRQ; none: no irq.handler', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-irq-'));
  try {
    fs.mkdirSync(path.join(dir, '36'));
    fs.writeFileSync(path.join(dir, '36', 'actions'), 'virtio1-req.0\n');
    fs.mkdirSync(path.join(dir, '7'));
    fs.writeFileSync(path.join(dir, '7', 'actions'), '\n');
    assert.equal(irqHandlerName(36, dir), 'virtio1-req.0');
    assert.equal(irqHandlerName(7, dir), undefined, 'an IRQ with no handler now');
    assert.equal(irqHandlerName(99, dir), undefined, 'an IRQ freed since');

    const reads: number[] = [];
    const attributes = irqAttributesOf((irq) => (reads.push(irq), irqHandlerName(irq, dir)));
    assert.deepEqual(attributes(36), { 'irq.number': 36, 'irq.handler': 'virtio1-req.0' });
    assert.deepEqual(attributes(36 | (2 << 16)), { 'irq.number': 36, 'irq.handler': 'virtio1-req.0', 'cpu.id': 1 });
    assert.deepEqual(attributes(99), { 'irq.number': 99 });
    assert.deepEqual(reads, [36, 99]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
