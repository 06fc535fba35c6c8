// The README stays true: its configuration table is the schema's, and its metric table names every metric.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configDocTable } from '../../agent/src/config';
import { SELF } from '../../agent/src/otel/semconv';
import { TCP } from '../../agent/src/probes/tcp/semconv';
import { RDMA } from '../../agent/src/probes/rdma/semconv';
import { LOCKS } from '../../agent/src/probes/locks/semconv';
import { SCHED } from '../../agent/src/probes/sched/semconv';

const README = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');

test('the README configuration table is generated from the schema (node scripts/update-readme.js)', () => {
  assert.ok(README.includes(configDocTable().trim()), 'README config table is stale: run node scripts/update-readme.js');
});

test('the README metric table lists every metric with its unit', () => {
  for (const m of [
    ...Object.values(TCP),
    ...Object.values(SCHED),
    ...Object.values(RDMA),
    ...Object.values(LOCKS),
    ...Object.values(SELF),
  ]) {
    if (typeof m === 'string') {
      assert.ok(README.includes(`\`${m}\``), `span ${m} documented`);
      continue;
    }
    const row = README.split('\n').find((l) => l.startsWith(`| \`${m.name}\` |`));
    assert.ok(row, `${m.name} documented`);
    assert.ok(row.includes(`\`${m.unit}\``), `${m.name} documented with unit ${m.unit}`);
  }
});
