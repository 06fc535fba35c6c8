// Every program of every family (every families.* switch on), on every rung of its ladder, with every
// combination of its object's rodata knobs (targ_*), loads and attaches on the running kernel: what the verifier of each kernel of the
// matrix accepts. Run as root, in a guest (test/kernels/guest.ts) or on the host:
//   node dist/test/kernels/loadcheck.js [--family NAME]   one JSON line per (family, rung, knobs, probe)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, schemaKeys } from '../../agent/src/config';
import { BpfObject, type OpenOptions, type Rung } from '../../agent/src/native';
import { needsPreallocatedHashMaps } from '../../agent/src/host/kernelRelease';
import { familyOpenOptions, objectPath } from '../../agent/src/probes/load';
import { families } from '../../agent/src/probes/registry';

const BPF_SRC = path.resolve(__dirname, '..', '..', '..', 'bpf');

export interface LoadCheckRow {
  family: string;
  /** index of the rung in each probe's ladder (0 = the preferred one) */
  rung: number;
  knobs: Record<string, number | bigint | boolean>;
  /** hash maps preallocated, as kotel loads them on kernels before 6.1 */
  preallocated: boolean;
  probe: string;
  kind: string;
  attached: boolean;
  reason?: string;
}

/** the object's `const volatile` knobs and the values to try: both for a bool, zero and non-zero otherwise */
export function knobValues(source: string): Record<string, (boolean | bigint)[]> {
  const knobs: Record<string, (boolean | bigint)[]> = {};
  for (const m of source.matchAll(/^const volatile (\w+) (targ_\w+) = /gm))
    knobs[m[2]] = m[1] === 'bool' ? [false, true] : [0n, 1_000_000n];
  return knobs;
}

export function combinations(knobs: Record<string, (boolean | bigint)[]>): Record<string, boolean | bigint>[] {
  let out: Record<string, boolean | bigint>[] = [{}];
  for (const [name, values] of Object.entries(knobs)) out = out.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  return out;
}

/** every families.* switch on (futex, offCpu, requestLatency, ...): the programs behind them are checked too */
function everythingOn(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    schemaKeys()
      .filter(([key, spec]) => key.startsWith('families.') && spec.format === 'bool')
      .map(([, spec]) => [spec.env!, 'true']),
  );
}

function check(only?: string): LoadCheckRow[] {
  const config = loadConfig({ env: everythingOn() });
  const rows: LoadCheckRow[] = [];
  for (const family of families.filter((f) => !only || f.name === only)) {
    const absent = family.unavailable?.(config);
    let options: OpenOptions;
    try {
      if (absent) throw new Error(absent.reason);
      options = familyOpenOptions(config, family);
    } catch (err) {
      rows.push({
        family: family.name,
        rung: 0,
        knobs: {},
        preallocated: false,
        probe: '*',
        kind: '',
        attached: false,
        reason: (err as Error).message,
      });
      continue;
    }
    const knobs = knobValues(fs.readFileSync(path.join(BPF_SRC, `${family.name}.bpf.c`), 'utf8'));
    const depth = Math.max(...Object.values(options.ladders).map((l) => l.length));
    for (let rung = 0; rung < depth; rung++) {
      const ladders: Record<string, Rung[]> = {};
      for (const [probe, ladder] of Object.entries(options.ladders)) if (ladder[rung]) ladders[probe] = [ladder[rung]];
      // every knob combination as loaded on this kernel; the preferred rung also preallocated (pre-6.1 hosts)
      const runs = combinations(knobs).map((combo) => ({ combo, preallocated: needsPreallocatedHashMaps() }));
      if (rung === 0 && !needsPreallocatedHashMaps()) runs.push({ combo: {}, preallocated: true });
      for (const { combo, preallocated } of runs) {
        const base = { family: family.name, rung, knobs: combo, preallocated };
        let object: BpfObject | undefined;
        try {
          object = BpfObject.open(objectPath(config, family), {
            ...options,
            rodata: { ...options.rodata, ...combo },
            ladders,
            preallocateHashMaps: preallocated,
          });
          for (const a of object.attachments) {
            const kind = ladders[a.probe][0].kind;
            rows.push({
              ...base,
              probe: a.probe,
              kind,
              attached: a.attached,
              reason: a.attached ? undefined : a.failures.map((f) => f.reason).join('; '),
            });
          }
        } catch (err) {
          rows.push({ ...base, probe: '*', kind: '', attached: false, reason: (err as Error).message });
        } finally {
          object?.close();
        }
      }
    }
  }
  return rows;
}

if (require.main === module) {
  const i = process.argv.indexOf('--family');
  for (const row of check(i > 0 ? process.argv[i + 1] : undefined)) {
    process.stdout.write(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) + '\n');
  }
}
