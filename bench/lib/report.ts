// The console table and bench/results/<name>.{json,md}.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Machine } from './machine';
import { RESULTS } from './paths';
import type { Figure, SectionResult } from './result';

export interface BenchRun {
  mode: 'full' | 'quick';
  machine: Machine;
  machineAtEnd: Pick<Machine, 'loadAverage' | 'otherActivity'>;
  durationSeconds: number;
  sections: SectionResult[];
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function status(f: Figure): string {
  if (f.target === undefined) return '';
  if (f.met === undefined) return `target ${f.target}: no number`;
  return f.met ? `target ${f.target}: met` : `target ${f.target}: MISSED`;
}

/** the median's change since the last run: +3.2% (or the last median when it was 0) */
function versusLast(f: Figure): string {
  if (f.previous === undefined || !f.summary) return '';
  if (f.previous === 0) return f.summary.median === 0 ? '=' : `was 0`;
  const change = (f.summary.median / f.previous - 1) * 100;
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`;
}

function row(f: Figure): string[] {
  if (!f.summary) return [f.name, '—', '', '', '', f.unit, f.notMeasured ?? '', status(f)];
  const s = f.summary;
  return [
    f.name,
    fmt(s.median),
    versusLast(f),
    s.n > 1 ? `${fmt(s.min)} … ${fmt(s.max)}` : '',
    String(s.n),
    f.unit,
    f.note ?? '',
    status(f),
  ];
}

const HEAD = ['figure', 'median', 'vs last run', 'spread (min … max)', 'n', 'unit', 'note', 'target'];

/** sets each figure's `previous` from results/<name>.json, the run it will replace: same section, same name */
export function attachPrevious(run: BenchRun, name: string): void {
  const file = path.join(RESULTS, `${name}.json`);
  if (!fs.existsSync(file)) return;
  const before = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRun;
  const medians = new Map<string, number>();
  for (const s of before.sections) for (const f of s.figures) if (f.summary) medians.set(`${s.id}\u0000${f.name}`, f.summary.median);
  for (const s of run.sections) for (const f of s.figures) f.previous = medians.get(`${s.id}\u0000${f.name}`);
}

export function missedTargets(run: BenchRun): Figure[] {
  return run.sections.flatMap((s) => s.figures).filter((f) => f.target !== undefined && f.met === false);
}

export function printTable(run: BenchRun): void {
  for (const s of run.sections) {
    console.log(`\n${s.title}`);
    const rows = s.figures.map(row);
    const widths = HEAD.map((h, i) => Math.min(70, Math.max(h.length, ...rows.map((r) => r[i].length))));
    const line = (r: string[]) =>
      r
        .map((c, i) => c.slice(0, 70).padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    console.log(line(HEAD));
    for (const r of rows) console.log(line(r));
    for (const n of s.notes) console.log(`  note: ${n}`);
  }
  const missed = missedTargets(run);
  console.log(missed.length ? `\nTargets missed: ${missed.map((f) => f.name).join('; ')}` : '\nNo measured target missed.');
}

function markdown(run: BenchRun): string {
  const m = run.machine;
  const out: string[] = [
    `# kotel benchmark results (${run.mode} run)`,
    '',
    `Reproduce as root: \`npm run bench\` (full run) or \`npm run bench -- --quick\` (smoke run). This run took ${Math.round(run.durationSeconds)} s.`,
    '',
    '## Machine',
    '',
    `- ${m.date}; ${m.cpu}, ${m.cores} CPUs, ${m.memoryGb} GB; ${m.kernel}; ${m.os}`,
    `- kotel ${m.kotel} (commit ${m.commit}), Node ${m.node}, libbpf ${m.libbpf}, ${m.clang}, ${m.bpftrace}`,
    `- load average at start ${m.loadAverage.join(' ')}, at end ${run.machineAtEnd.loadAverage.join(' ')}`,
  ];
  const others = [...new Set([...m.otherActivity, ...run.machineAtEnd.otherActivity])];
  out.push(
    others.length
      ? `- **The machine was shared during this run** (other agents/tests were running; figures are noisier than on a quiet host): ${others.map((o) => `\`${o}\``).join(', ')}`
      : '- No other kotel agent, test run or bpftrace was seen at the start or end of the run.',
  );
  const missed = missedTargets(run);
  out.push('', '## Targets', '');
  const targets = run.sections.flatMap((s) => s.figures).filter((f) => f.target !== undefined);
  for (const f of targets) {
    out.push(
      `- ${f.met === undefined ? 'not measured' : f.met ? 'met' : '**MISSED**'}: ${f.name} — target ${f.target}${f.summary ? `, median ${fmt(f.summary.median)} ${f.unit}` : f.notMeasured ? ` (${f.notMeasured})` : ''}`,
    );
  }
  if (missed.length === 0) out.push('', 'No measured target was missed.');
  for (const s of run.sections) {
    out.push('', `## ${s.title}`, '');
    if (s.ran) out.push(`Ran ${s.ran}.`, '');
    out.push(`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`);
    for (const f of s.figures)
      out.push(
        `| ${row(f)
          .map((c) => c.replace(/\|/g, '\\|'))
          .join(' | ')} |`,
      );
    if (s.notes.length) out.push('');
    for (const n of s.notes) out.push(`- ${n}`);
  }
  return out.join('\n') + '\n';
}

/** writes results/<name>.{json,md}; `partial`: only some sections ran, so the other sections of the file
 * already there are kept (each section says when it ran) */
export function writeResults(run: BenchRun, name: string, partial = false): string[] {
  fs.mkdirSync(RESULTS, { recursive: true });
  const json = path.join(RESULTS, `${name}.json`);
  if (partial && fs.existsSync(json)) {
    const before = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchRun;
    const ran = new Set(run.sections.map((s) => s.id));
    run = {
      ...run,
      sections: [...before.sections.filter((s) => !ran.has(s.id)), ...run.sections].sort((a, b) => a.title.localeCompare(b.title)),
    };
  }
  const md = path.join(RESULTS, `${name}.md`);
  fs.writeFileSync(json, JSON.stringify(run, null, 2) + '\n');
  fs.writeFileSync(md, markdown(run));
  return [json, md];
}
