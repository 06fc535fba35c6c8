// layout() of the addon fixture's record types, checked against sizeof/offsetof computed by the host C
// compiler from the same headers. Opening the object loads it, so this needs root (skipped otherwise).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BpfObject } from '../../agent/src/native';
import { tool } from '../helpers/tools';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURE_DIR = path.join(ROOT, 'test', 'fixtures', 'bpf');
const FIXTURE = path.join(FIXTURE_DIR, '.output', 'addon_fixture.bpf.o');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;

/** The fields each type's layout must report, as C member designators (dots for nested members). */
const TYPES: Record<string, { header: string; fields: string[] }> = {
  fixture_event: {
    header: 'addon_fixture.h',
    fields: ['pid', 'tid', 'cgroup_id', 'ts_ns', 'kind', '_pad', 'inner.a', 'inner.b', 'inner.c', 'inner.d', 'comm', 'tail', '_pad2'],
  },
  kotel_cg_key: { header: 'kotel.h', fields: ['cgroup_id', 'kind', 'chunk'] },
};

/** sizeof/offsetof of every field, printed by a host C program built from the same headers. */
function hostLayouts(): Record<string, { size: number; fields: Record<string, { offset: number; size: number }> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-layout-'));
  try {
    const lines: string[] = [];
    for (const [type, { fields }] of Object.entries(TYPES)) {
      lines.push(`  printf("T %s %zu\\n", "${type}", sizeof(struct ${type}));`);
      for (const f of fields)
        lines.push(
          `  printf("F %s %s %zu %zu\\n", "${type}", "${f}", offsetof(struct ${type}, ${f}), ` + `sizeof(((struct ${type} *)0)->${f}));`,
        );
    }
    const src = [
      '#include <linux/types.h>',
      '#include <stddef.h>',
      '#include <stdio.h>',
      '#include "kotel.h"',
      '#include "addon_fixture.h"',
      'int main(void) {',
      ...lines,
      '  return 0;',
      '}',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'layout.c'), src);
    const exe = path.join(dir, 'layout');
    execFileSync(tool('cc'), ['-I', path.join(ROOT, 'bpf'), '-I', FIXTURE_DIR, '-o', exe, path.join(dir, 'layout.c')]);
    const out: ReturnType<typeof hostLayouts> = {};
    for (const line of execFileSync(exe, { encoding: 'utf8' }).trim().split('\n')) {
      const p = line.split(' ');
      if (p[0] === 'T') out[p[1]] = { size: Number(p[2]), fields: {} };
      else out[p[1]].fields[p[2]] = { offset: Number(p[3]), size: Number(p[4]) };
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('native layout()', { skip: notRoot }, () => {
  let obj: BpfObject;
  before(() => {
    execFileSync(tool('make'), ['-s', '-C', FIXTURE_DIR]);
    obj = BpfObject.open(FIXTURE, { ladders: {} });
  });
  after(() => obj?.close());

  test('agrees with the host compiler for every exported type', () => {
    const host = hostLayouts();
    for (const type of Object.keys(TYPES)) {
      const got = obj.layout(type);
      assert.equal(got.size, host[type].size, `sizeof(struct ${type})`);
      assert.deepEqual(got.fields, host[type].fields, `fields of struct ${type}`);
    }
  });

  test('accepts a "struct " prefix and throws ENOENT for an unknown type', () => {
    assert.deepEqual(obj.layout('struct fixture_event'), obj.layout('fixture_event'));
    assert.throws(
      () => obj.layout('no_such_type'),
      (e: { name: string; op: string; code: string; message: string }) =>
        e.name === 'BpfError' && e.op === 'layout' && e.code === 'ENOENT' && e.message.includes('no_such_type'),
    );
  });
});
