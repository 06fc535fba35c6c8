// kotel.events.dropped's kernel reasons are enum kotel_drop_reason of bpf/kotel.h, by index: the names user
// space gives the counters must follow the C enum, or a new reason would be exported under the wrong name.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { KERNEL_DROP_REASONS } from '../../agent/src/kernel/drops';
import { SELF } from '../../agent/src/otel/semconv';

const HEADER = path.resolve(__dirname, '..', '..', '..', 'bpf', 'kotel.h');

test('the kernel drop reasons are the C enum, in order, and kotel.events.dropped documents each', () => {
  const body = /enum kotel_drop_reason \{([\s\S]*?)\};/.exec(fs.readFileSync(HEADER, 'utf8'))![1];
  const entries = [...body.matchAll(/KOTEL_DROP_(\w+) = (\d+)/g)].map((m) => [m[1].toLowerCase(), Number(m[2])] as const);
  const reasons = entries.filter(([name]) => name !== 'reasons');
  assert.deepEqual(
    reasons.map(([, i]) => i),
    reasons.map((_, i) => i),
    'numbered from 0 without gaps',
  );
  assert.deepEqual(
    KERNEL_DROP_REASONS,
    reasons.map(([name]) => name),
  );
  assert.equal(entries.find(([name]) => name === 'reasons')?.[1], reasons.length, 'KOTEL_DROP_REASONS is their count');
  for (const r of KERNEL_DROP_REASONS) assert.match(SELF.eventsDropped.description, new RegExp(`\\b${r}\\b`));
});
