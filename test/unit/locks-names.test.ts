// Attribute values of the locks family: lock kinds from contention_begin flags, futex ops and errors from
// the histogram keys, and kernel symbols for lock addresses from a kallsyms text.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { KernelSymbols } from '../../agent/src/probes/locks/kallsyms';
import { futexAttributes, lockKindName } from '../../agent/src/probes/locks/kinds';

test('lock kinds follow the LCB_F_* flags the tracepoint prints (SPIN=1 READ=2 WRITE=4 RT=8 PERCPU=16 MUTEX=32)', () => {
  assert.equal(lockKindName(1), 'spinlock');
  assert.equal(lockKindName(1 | 2), 'rwlock_read');
  assert.equal(lockKindName(1 | 4), 'rwlock_write');
  assert.equal(lockKindName(2), 'rwsem_read');
  assert.equal(lockKindName(4), 'rwsem_write');
  assert.equal(lockKindName(8), 'rt_mutex');
  assert.equal(lockKindName(8 | 2), 'rwlock_rt_read');
  assert.equal(lockKindName(16 | 4), 'percpu_rwsem_write');
  assert.equal(lockKindName(32), 'mutex');
  assert.equal(lockKindName(0), 'semaphore');
  assert.equal(lockKindName(64), 'flags_0x40');
});

test('futex keys: op in the low byte, errno above it', () => {
  assert.deepEqual(futexAttributes(0), { 'futex.op': 'wait' });
  assert.deepEqual(futexAttributes(9 | (110 << 8)), { 'futex.op': 'wait_bitset', 'error.type': 'ETIMEDOUT' });
  assert.deepEqual(futexAttributes(0 | (11 << 8)), { 'futex.op': 'wait', 'error.type': 'EAGAIN' });
  assert.deepEqual(futexAttributes(64 | (255 << 8)), { 'futex.op': 'waitv', 'error.type': '_OTHER' });
});

test('lock addresses: data symbols with offsets, [static] without one, [dynamic] below the image', () => {
  const syms = KernelSymbols.parse(
    [
      'ffffffff81000000 T _text',
      'ffffffff81000100 T some_function',
      'ffffffff82000000 D rtnl_mutex',
      'ffffffff82000040 D big_table',
      'ffffffff83000000 b mod_lock\t[mymod]',
    ].join('\n'),
  );
  assert.equal(syms.resolve(0xffffffff82000000n), 'rtnl_mutex');
  assert.equal(syms.resolve(0xffffffff82000048n), 'big_table+0x8');
  assert.equal(syms.resolve(0xffffffff83000010n), 'mod_lock+0x10 [mymod]');
  assert.equal(syms.resolve(0xffffffff81000180n), '[static]', 'after a text symbol: not an object we can name');
  assert.equal(syms.resolve(0xffffffff82100000n), '[static]', 'too far past the last data symbol');
  assert.equal(syms.resolve(0xffff888100000000n), '[dynamic]');
  // x86-64 before 6.15: per-CPU variables listed as zero-based offsets sort first; they are not addresses
  const percpu = KernelSymbols.parse(
    [
      '0000000000000000 A fixed_percpu_data',
      '000000000001f000 D runqueues',
      'ffffffff81000000 T _text',
      'ffffffff82000000 D rtnl_mutex',
    ].join('\n'),
  );
  assert.equal(percpu.resolve(0xffff888100000000n), '[dynamic]', 'heap below the image, above the per-CPU offsets');
  assert.equal(percpu.resolve(0x1f010n), '[dynamic]');
  assert.equal(percpu.resolve(0xffffffff82000010n), 'rtnl_mutex+0x10');
  assert.equal(
    KernelSymbols.parse('0000000000000000 T _text\n').resolve(0xffffffff82000000n),
    '[unresolved]',
    'kptr_restrict hides addresses',
  );
});
