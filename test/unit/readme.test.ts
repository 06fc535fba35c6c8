// The README stays true: its configuration table is the schema's, its metric table names every metric, and
// the files its "Adding a family" steps name exist for every family.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configDocTable } from '../../agent/src/config';
import { SELF, type MetricName } from '../../agent/src/otel/semconv';
import { familyNames } from '../../agent/src/probes/registry';

const README = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');

test('the README configuration table is generated from the schema (node scripts/update-readme.js)', () => {
  assert.ok(README.includes(configDocTable().trim()), 'README config table is stale: run node scripts/update-readme.js');
});

/** a family's metric and span names: the export of probes/<family>/semconv.ts named after it (TCP, ...) */
async function semconvOf(family: string): Promise<Record<string, MetricName | string>> {
  const semconv = (await import(`../../agent/src/probes/${family}/semconv`)) as Record<string, Record<string, MetricName | string>>;
  const names = semconv[family.toUpperCase()];
  assert.ok(names, `probes/${family}/semconv.ts exports ${family.toUpperCase()}`);
  return names;
}

test('the README metric table lists every metric with its unit', async () => {
  const perFamily = await Promise.all(familyNames.map(semconvOf));
  for (const m of [...perFamily.flatMap((names) => Object.values(names)), ...Object.values(SELF)]) {
    if (typeof m === 'string') {
      assert.ok(README.includes(`\`${m}\``), `span ${m} documented`);
      continue;
    }
    const row = README.split('\n').find((l) => l.startsWith(`| \`${m.name}\` |`));
    assert.ok(row, `${m.name} documented`);
    assert.ok(row.includes(`\`${m.unit}\``), `${m.name} documented with unit ${m.unit}`);
  }
});

/** named in the steps but not written yet: drop each once every family has it */
const PENDING: string[] = [];

test('the files the "Adding a family" steps name exist, for every family', () => {
  const section = README.split('\n## Adding a family\n')[1]?.split('\n## ')[0];
  assert.ok(section, 'README has a section "Adding a family"');
  const paths = [...section.matchAll(/`([\w.<>-]+(?:\/[\w.<>-]+)+)`/g)].map((m) => m[1]);
  assert.ok(paths.length >= 10, `${paths.length} paths named`);
  const root = path.resolve(__dirname, '..', '..', '..');
  for (const p of paths) {
    const each = p.includes('<family>') ? familyNames.map((f) => p.replaceAll('<family>', f)) : [p];
    const missing = each.filter((f) => !fs.existsSync(path.join(root, f)));
    if (PENDING.includes(p)) assert.ok(missing.length > 0, `${p} exists for every family: drop it from PENDING`);
    else assert.deepEqual(missing, [], `${p} named in "Adding a family"`);
  }
});
