// BpfObject.open()'s options are checked in TypeScript before the addon sees them (agent/src/native/openOptions.ts):
// a malformed option throws one line naming it and what it takes, before any file is opened (the paths here do
// not exist, so a check that ran late would throw ENOENT instead). The addon itself, called unchecked, answers
// malformed input with a TypeError, never a crash. Every family's real options pass the check.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { loadConfig } from '../../agent/src/config';
import { BpfError, BpfObject, native, type OpenOptions } from '../../agent/src/native';
import { checkOpenOptions } from '../../agent/src/native/openOptions';
import { familyOpenOptions, objectPath } from '../../agent/src/probes/load';
import { families } from '../../agent/src/probes/registry';

const PATH = '/nonexistent/kotel-options.bpf.o';
const at = `BpfObject.open(${PATH}): `;

function open(options: unknown): unknown {
  return BpfObject.open(PATH, options as OpenOptions);
}

describe('BpfObject.open options checked before the addon', () => {
  const cases: [string, unknown, ErrorConstructor, string][] = [
    ['not an object', 7, TypeError, `${at}options = 7: must be an object`],
    ['ladders missing', {}, TypeError, `${at}options.ladders = undefined: must be an object of probe name -> rungs ({} for none)`],
    ['ladder not an array', { ladders: { x: {} } }, TypeError, `${at}options.ladders.x = an object: must be an array of rungs`],
    [
      'unknown hook kind',
      { ladders: { x: [{ program: 'p', kind: 'kprobes' }] } },
      TypeError,
      `${at}options.ladders.x[0].kind = "kprobes": must be one of tp_btf, raw_tp, tp, fentry, fexit, kprobe, kretprobe, uprobe, uretprobe`,
    ],
    [
      'rung without program',
      { ladders: { x: [{ kind: 'raw_tp' }] } },
      TypeError,
      `${at}options.ladders.x[0].program = undefined: must be a program name`,
    ],
    [
      'uprobe rung without offset',
      { ladders: { u: [{ program: 'p', kind: 'uprobe', binary: '/lib/libibverbs.so.1' }] } },
      TypeError,
      `${at}options.ladders.u[0].offset = undefined: must be a file offset >= 0 (a uprobe rung needs binary and offset)`,
    ],
    [
      'uretprobe rung without binary',
      { ladders: { u: [{ program: 'p', kind: 'uretprobe', offset: 4096 }] } },
      TypeError,
      `${at}options.ladders.u[0].binary = undefined: must be the ELF file (a uretprobe rung needs binary and offset)`,
    ],
    [
      'negative offset',
      { ladders: { u: [{ program: 'p', kind: 'uprobe', binary: '/x', offset: -1 }] } },
      RangeError,
      `${at}options.ladders.u[0].offset = -1: must be a file offset >= 0`,
    ],
    [
      'fractional pid',
      { ladders: { u: [{ program: 'p', kind: 'uprobe', binary: '/x', offset: 1, pid: 1.5 }] } },
      RangeError,
      `${at}options.ladders.u[0].pid = 1.5: must be a process id, or -1 for every process`,
    ],
    [
      'empty target',
      { ladders: { k: [{ program: 'p', kind: 'kprobe', target: '' }] } },
      TypeError,
      `${at}options.ladders.k[0].target = "": must be a kernel function name`,
    ],
    [
      'knob of a wrong type',
      { rodata: { targ_x: 'on' }, ladders: {} },
      TypeError,
      `${at}options.rodata.targ_x = "on": must be a number, bigint or boolean`,
    ],
    [
      'max_entries 0',
      { maxEntries: { m: 0 }, ladders: {} },
      RangeError,
      `${at}options.maxEntries.m = 0: must be an integer from 1 to 4294967295`,
    ],
    [
      'max_entries past 32 bits',
      { maxEntries: { m: 2 ** 32 }, ladders: {} },
      RangeError,
      `${at}options.maxEntries.m = 4294967296: must be an integer from 1 to 4294967295`,
    ],
    ['loadOnly not an array', { ladders: {}, loadOnly: 'p' }, TypeError, `${at}options.loadOnly = "p": must be an array of program names`],
    ['loadOnly entry', { ladders: {}, loadOnly: ['p', 3] }, TypeError, `${at}options.loadOnly[1] = 3: must be a program name`],
    [
      'preallocateHashMaps not a boolean',
      { ladders: {}, preallocateHashMaps: 1 },
      TypeError,
      `${at}options.preallocateHashMaps = 1: must be true or false`,
    ],
  ];
  for (const [name, options, type, message] of cases)
    test(name, () => {
      assert.throws(
        () => open(options),
        (e: unknown) => {
          assert.ok(e instanceof type, `${String(e)} is not a ${type.name}`);
          assert.equal((e as Error).message, message);
          return true;
        },
      );
    });

  test('a path that is no string', () => {
    assert.throws(() => BpfObject.open(undefined as unknown as string, { ladders: {} }), {
      name: 'TypeError',
      message: 'BpfObject.open(path): path = undefined: must be the path of a BPF object file',
    });
  });

  test('rodata values no 64-bit integer holds: the BpfError rodata ERANGE', () => {
    for (const [v, why] of [
      [1.5, 'value is not an integer'],
      [2 ** 64, 'value is out of range'],
      [2n ** 64n, 'does not fit in 64 bits'],
      [-(2n ** 63n) - 1n, 'does not fit in 64 bits'],
    ] as const)
      assert.throws(
        () => open({ rodata: { targ_x: v }, ladders: {} }),
        (e: unknown) => {
          assert.ok(e instanceof BpfError, `not a BpfError: ${String(e)}`);
          assert.equal(e.op, 'rodata');
          assert.equal(e.code, 'ERANGE');
          assert.equal(e.errno, 34);
          assert.equal(e.message, `rodata knob 'targ_x' in ${PATH}: Numerical result out of range (ERANGE): ${why}`);
          return true;
        },
      );
  });

  test('well-formed options reach the addon: the missing file is its ENOENT', () => {
    const options: OpenOptions = {
      rodata: { a: true, b: -(2n ** 63n), c: 2n ** 64n - 1n, d: -1 },
      maxEntries: { m: 4294967295 },
      ladders: {
        u: [{ program: 'p', kind: 'uretprobe', binary: '/x', offset: 0, pid: -1 }],
        k: [{ program: 'q', kind: 'fentry', target: 'f' }],
      },
      loadOnly: ['r'],
      preallocateHashMaps: false,
    };
    assert.throws(
      () => BpfObject.open(PATH, options),
      (e: unknown) => e instanceof BpfError && e.op === 'bpf_object__open_file' && e.code === 'ENOENT',
    );
  });

  test("every family's options, as the agent builds them, pass", () => {
    const config = loadConfig({ env: {} });
    let checked = 0;
    for (const family of families) {
      if (family.unavailable?.(config)) continue;
      checkOpenOptions(objectPath(config, family), familyOpenOptions(config, family));
      checked++;
    }
    assert.ok(checked >= 4, `${checked} families checked`);
  });
});

describe('the addon unchecked: malformed options are a TypeError, not a crash', () => {
  const cases: [string, unknown, string][] = [
    ['not an object', 7, 'options must be an object'],
    ['unknown hook kind', { ladders: { x: [{ program: 'p', kind: 'nope' }] } }, "rung.kind 'nope' is no hook kind"],
    ['rung not an object', { ladders: { x: [1] } }, 'ladders.x rungs must be objects'],
    ['knob NaN', { rodata: { k: NaN }, ladders: {} }, 'rodata.k must fit in 64 bits'],
    ['knob bigint past 64 bits', { rodata: { k: 2n ** 64n }, ladders: {} }, 'rodata.k must fit in 64 bits'],
    ['knob string', { rodata: { k: 's' }, ladders: {} }, 'rodata.k must be a number, bigint or boolean'],
    ['loadOnly entry', { ladders: {}, loadOnly: [3] }, 'loadOnly[] must be a string'],
  ];
  for (const [name, options, message] of cases)
    test(name, () => {
      assert.throws(() => native.BpfObject.open(PATH, options as OpenOptions), { name: 'TypeError', message });
    });
});
