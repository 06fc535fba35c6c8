// kotel record's --duration values, as a user types them.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseDuration } from '../../agent/src/record';

test('durations: ms, s, m, h, or bare seconds; nothing else, nothing at or below zero', () => {
  const cases: Array<[string, number | undefined]> = [
    ['60s', 60_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5', 1500],
    [' 10s ', 10_000],
    ['0', undefined],
    ['0s', undefined],
    ['-1s', undefined],
    ['10x', undefined],
    ['s', undefined],
    ['', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, JSON.stringify(text));
});
