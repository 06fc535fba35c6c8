// The addon's uprobes against the running kernel (root): symbols resolved to file offsets (checked against
// readelf), file ids through overlay mounts, a uprobe by offset, detach and deleteKeys.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { native, type BpfObject } from '../../agent/src/native';
import { tool } from '../helpers/tools';
import { kernelAtLeast } from '../../agent/src/host/kernelRelease';
import { assertBpfError, getppidTimes, LIBC, notRoot, openFixture } from '../helpers/addonFixture';

/** Independent truth: readelf's default-version (@@) entry and PT_LOAD headers give the file offset. */
function readelfOffset(file: string, name: string): { offset: number; version: string } {
  const syms = execFileSync(tool('readelf'), ['-W', '--dyn-syms', file], { encoding: 'utf8' });
  const line = syms.split('\n').find((l) => new RegExp(`\\s${name}@@\\S+$`).test(l.trim()) || l.trim().endsWith(` ${name}`));
  assert.ok(line, `readelf: no ${name}@@ in ${file}`);
  const cols = line.trim().split(/\s+/);
  const value = parseInt(cols[1], 16);
  const version = cols[7].includes('@@') ? cols[7].split('@@')[1] : '';
  const phdrs = execFileSync(tool('readelf'), ['-W', '-l', file], { encoding: 'utf8' });
  for (const l of phdrs.split('\n')) {
    const c = l.trim().split(/\s+/);
    if (c[0] !== 'LOAD') continue;
    const [off, vaddr, memsz] = [parseInt(c[1], 16), parseInt(c[2], 16), parseInt(c[5], 16)];
    if (value >= vaddr && value < vaddr + memsz) return { offset: value - vaddr + off, version };
  }
  throw new Error(`${name} not in a PT_LOAD segment`);
}

describe('native addon uprobes on the running kernel', { skip: notRoot }, () => {
  let obj: BpfObject;

  before(() => {
    obj = openFixture();
  });

  after(() => obj?.close());

  test('resolveSymbol agrees with readelf, skips compat versions, ENOENT when absent', () => {
    for (const name of ['getppid', 'memcpy']) {
      const truth = readelfOffset(LIBC, name);
      assert.deepEqual(native.resolveSymbol(LIBC, name), truth, name);
    }
    // memcpy@GLIBC_2.2.5 is the hidden compat twin; the default is memcpy@@GLIBC_2.14
    assert.equal(native.resolveSymbol(LIBC, 'memcpy').version, 'GLIBC_2.14');
    assertBpfError(() => native.resolveSymbol(LIBC, 'no_such_function_kotel'), 'resolveSymbol', 'ENOENT', 'no_such_function_kotel');
    assertBpfError(() => native.resolveSymbol('/nonexistent/lib.so', 'x'), 'resolveSymbol', 'ENOENT', '/nonexistent/lib.so');
  });

  test('fileId: one id for one layer file through two overlay mounts (uprobes hook that file), another for another file; undefined for a missing path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-fileid-'));
    const [lower, u1, w1, m1, u2, w2, m2] = ['lower', 'u1', 'w1', 'm1', 'u2', 'w2', 'm2'].map((d) => path.join(dir, d));
    const mounted: string[] = [];
    // the layers on a tmpfs of their own: an overlay's upper layer cannot be an overlay
    execFileSync(tool('mount'), ['-t', 'tmpfs', 'kotel-fileid', dir]);
    try {
      for (const d of [lower, u1, w1, m1, u2, w2, m2]) fs.mkdirSync(d);
      fs.writeFileSync(path.join(lower, 'libibverbs.so.1'), 'one layer file\n');
      fs.writeFileSync(path.join(lower, 'libother.so.1'), 'another\n');
      for (const [upper, work, merged] of [
        [u1, w1, m1],
        [u2, w2, m2],
      ]) {
        execFileSync(tool('mount'), ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
        mounted.push(merged);
      }
      const [lib1, lib2, other] = [`${m1}/libibverbs.so.1`, `${m2}/libibverbs.so.1`, `${m1}/libother.so.1`];
      // what stat shows cannot tell: each mount has its own st_dev
      assert.notEqual(fs.statSync(lib1).dev, fs.statSync(lib2).dev);
      const tmpfsId = native.fileId(path.join(lower, 'libibverbs.so.1'));
      assert.ok(tmpfsId === undefined || /^\d+:[0-9a-f]+$/.test(tmpfsId), `tmpfs file: ${tmpfsId}`);
      if (kernelAtLeast(6, 6)) {
        const id = native.fileId(lib1);
        assert.match(id ?? 'undefined', /^\d+:[0-9a-f]+$/, 'an overlay file has an id from 6.6');
        assert.equal(native.fileId(lib2), id, 'the same layer file through the second mount');
        assert.notEqual(native.fileId(other), id, 'another file of the layer');
        if (tmpfsId) assert.ok(id!.endsWith(tmpfsId.slice(tmpfsId.indexOf(':') + 1)), `${id} holds the layer file's own handle ${tmpfsId}`);
      } else {
        assert.equal(native.fileId(lib1), undefined, 'no overlay file handle before 6.6');
      }
      assert.equal(native.fileId(path.join(m1, 'missing.so')), undefined);
      assert.equal(native.fileId('/nonexistent/libibverbs.so.1'), undefined);
      assert.throws(() => native.fileId(7 as unknown as string), { name: 'TypeError', message: 'fileId(path: string)' });
    } finally {
      for (const m of mounted) execFileSync(tool('umount'), ['--lazy', m]);
      execFileSync(tool('umount'), ['--lazy', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('uprobe on libc getppid counts this process; detach stops it; deleteKeys', () => {
    const { offset } = native.resolveSymbol(LIBC, 'getppid');
    const id = obj.attachUprobe('fixture_uprobe', LIBC, offset, false, process.pid);
    const hits = (): bigint => {
      const b = obj.readMap('fixture_uprobe_hits');
      for (let i = 0; i < b.count; i++) if (b.keys.readUInt32LE(i * 4) === process.pid) return b.values.readBigUInt64LE(i * 8);
      return 0n;
    };
    const M = 50;
    getppidTimes(M);
    const h = hits();
    assert.ok(h >= BigInt(M), `uprobe hits ${h}, expected >= ${M}`);
    obj.detach(id);
    obj.detach(id); // idempotent
    getppidTimes(M);
    assert.equal(hits(), h, 'no hits after detach');

    const keys = Buffer.alloc(8);
    keys.writeUInt32LE(process.pid, 0);
    keys.writeUInt32LE(0xfffffff0, 4); // absent key
    assert.equal(obj.deleteKeys('fixture_uprobe_hits', keys, 2), 1);
    assert.equal(hits(), 0n);
    assert.equal(obj.deleteKeys('fixture_uprobe_hits', keys, 2), 0);
    assertBpfError(
      () => obj.attachUprobe('fixture_raw_tp_nope', LIBC, offset, false),
      'bpf_program__attach_uprobe',
      'ENOENT',
      'fixture_raw_tp_nope',
    );
  });
});
