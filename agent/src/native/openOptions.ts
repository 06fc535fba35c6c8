// Checks BpfObject.open()'s options before they reach the addon (JS validates, native trusts). What only
// the object can tell (does the knob, map or program exist, does a value fit its variable) stays native.
import { constants } from 'node:os';

import { BpfError } from './BpfError';
import type { HookKind, OpenOptions } from './native';

/** every HookKind (the Record type makes the compiler check none is missing or extra) */
const HOOK_KIND_SET: Record<HookKind, true> = {
  tp_btf: true,
  raw_tp: true,
  tp: true,
  fentry: true,
  fexit: true,
  kprobe: true,
  kretprobe: true,
  uprobe: true,
  uretprobe: true,
};
const HOOK_KINDS = Object.keys(HOOK_KIND_SET) as HookKind[];

const INT64_MIN = -(2n ** 63n);
const UINT64_END = 2n ** 64n;
const UINT32_MAX = 0xffff_ffff;

/** throws: option `what` is `v`, it must be `want`; a RangeError when `range` and v is a number, else a TypeError */
type Fail = (what: string, v: unknown, want: string, range?: boolean) => never;

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'an array' : 'an object') : String(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** the same ERANGE BpfError the addon threw for these before the check moved here */
function knobRange(name: string, path: string, why: string): BpfError {
  return new BpfError(
    'rodata',
    constants.errno.ERANGE,
    'ERANGE',
    `rodata knob '${name}' in ${path}: Numerical result out of range (ERANGE): ${why}`,
  );
}

function checkKnob(name: string, v: unknown, path: string, bad: Fail): void {
  if (typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw knobRange(name, path, 'value is not an integer');
    if (v < -(2 ** 63) || v >= 2 ** 64) throw knobRange(name, path, 'value is out of range');
    return;
  }
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v >= UINT64_END) throw knobRange(name, path, 'does not fit in 64 bits');
    return;
  }
  bad(`rodata.${name}`, v, 'a number, bigint or boolean');
}

function checkRung(where: string, r: unknown, bad: Fail): void {
  if (!isRecord(r)) bad(where, r, 'a rung object { program, kind, ... }');
  if (typeof r.program !== 'string' || r.program === '') bad(`${where}.program`, r.program, 'a program name');
  if (!HOOK_KINDS.includes(r.kind as HookKind)) bad(`${where}.kind`, r.kind, `one of ${HOOK_KINDS.join(', ')}`);
  const uprobe = r.kind === 'uprobe' || r.kind === 'uretprobe';
  const needs = (v: unknown) => (uprobe && v === undefined ? ` (a ${String(r.kind)} rung needs binary and offset)` : '');
  if ((uprobe || r.binary !== undefined) && (typeof r.binary !== 'string' || r.binary === ''))
    bad(`${where}.binary`, r.binary, `the ELF file${needs(r.binary)}`);
  if ((uprobe || r.offset !== undefined) && !(Number.isSafeInteger(r.offset) && (r.offset as number) >= 0))
    bad(`${where}.offset`, r.offset, `a file offset >= 0${needs(r.offset)}`, true);
  if (r.pid !== undefined && !(Number.isInteger(r.pid) && (r.pid as number) >= -1 && (r.pid as number) <= 2 ** 31 - 1))
    bad(`${where}.pid`, r.pid, 'a process id, or -1 for every process', true);
  if (r.target !== undefined && (typeof r.target !== 'string' || r.target === ''))
    bad(`${where}.target`, r.target, 'a kernel function name');
}

/** Throws a TypeError or RangeError naming the option and what it takes (or, for rodata values no 64-bit
 * integer holds, the BpfError 'rodata' ERANGE) when `options` is not a well-formed OpenOptions. */
export function checkOpenOptions(path: unknown, options: unknown): asserts options is OpenOptions {
  if (typeof path !== 'string' || path === '')
    throw new TypeError(`BpfObject.open(path): path = ${show(path)}: must be the path of a BPF object file`);
  const bad: Fail = (what, v, want, range) => {
    const Err = range && typeof v === 'number' ? RangeError : TypeError;
    throw new Err(`BpfObject.open(${path}): options${what ? `.${what}` : ''} = ${show(v)}: must be ${want}`);
  };
  if (!isRecord(options)) bad('', options, 'an object');
  const o = options as Record<string, unknown>;
  if (o.rodata !== undefined) {
    if (!isRecord(o.rodata)) bad('rodata', o.rodata, 'an object of knob name -> value');
    for (const [name, v] of Object.entries(o.rodata)) checkKnob(name, v, path, bad);
  }
  if (o.maxEntries !== undefined) {
    if (!isRecord(o.maxEntries)) bad('maxEntries', o.maxEntries, 'an object of map name -> max_entries');
    for (const [name, n] of Object.entries(o.maxEntries))
      if (!(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= UINT32_MAX))
        bad(`maxEntries.${name}`, n, `an integer from 1 to ${UINT32_MAX}`, true);
  }
  if (!isRecord(o.ladders)) bad('ladders', o.ladders, 'an object of probe name -> rungs ({} for none)');
  for (const [probe, rungs] of Object.entries(o.ladders)) {
    if (!Array.isArray(rungs)) bad(`ladders.${probe}`, rungs, 'an array of rungs');
    rungs.forEach((r, i) => checkRung(`ladders.${probe}[${i}]`, r, bad));
  }
  if (o.loadOnly !== undefined) {
    if (!Array.isArray(o.loadOnly)) bad('loadOnly', o.loadOnly, 'an array of program names');
    o.loadOnly.forEach((p, i) => {
      if (typeof p !== 'string' || p === '') bad(`loadOnly[${i}]`, p, 'a program name');
    });
  }
  if (o.preallocateHashMaps !== undefined && typeof o.preallocateHashMaps !== 'boolean')
    bad('preallocateHashMaps', o.preallocateHashMaps, 'true or false');
}
