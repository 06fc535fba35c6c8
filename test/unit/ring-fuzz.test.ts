// 100 000 random, truncated and hostile records per ring-buffer decoder (tcp_close_event, rdma_qp_event of
// the user and the kernel path, lock_wait_event), through the consumer code the agent runs: the family's
// start function opens its ring through kernel/ringConsumer.ts on a stand-in object (the real BPF object's
// BTF layouts, but batches come from a seeded PRNG instead of the kernel), then eachRecord → decode →
// spans / QP table. Nothing may throw
// out, exactly the short records are decode drops, and every string that leaves is printable. Also every
// map-key kind decoder (kindAttributes) over random kinds. Opening the objects needs root.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { loadConfig } from '../../agent/src/config';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { BpfObject, type TypeLayout } from '../../agent/src/native';
import { KernelSymbols } from '../../agent/src/probes/locks/kallsyms';
import { startWaitSpans } from '../../agent/src/probes/locks/waitSpans';
import { connectionTable } from '../../agent/src/probes/rdma/connectionTable';
import { RdmaDevices } from '../../agent/src/probes/rdma/devices';
import { QpTable, RING_BACKLOG, startQpEvents } from '../../agent/src/probes/rdma/qps';
import { families } from '../../agent/src/probes/registry';
import type { RingBatchCallback } from '../../agent/src/native';
import type { FamilyContext } from '../../agent/src/probes/types';
import { startConnectionSpans } from '../../agent/src/probes/tcp/connectionSpans';
import { UserDrops } from '../../agent/src/kernel/drops';
import { Maintenance } from '../../agent/src/probes/maintenance';
import { captureLogger } from '../helpers/captureLogger';
import { fakeSysfs } from '../helpers/sysfs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;
const RECORDS = 100_000;
const PER_BATCH = 64;
const SEED = 0x6b6f74656c; // failures reproduce: same seed, same records

/** what a terminal or log viewer acts on (the same set as record.ts's printable()) */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** mulberry32: small, seeded, good enough to spread bytes */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** hostile contents for string fields (comm, device): no NUL at all, invalid UTF-8, escapes, bidi overrides */
const NASTY_STRINGS = [
  Buffer.alloc(64, 0x41), // unterminated
  Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, 0xf0, 0x28, 0x8c, 0xbc]), // invalid UTF-8
  Buffer.from('\x1b[31mred\x1b[0m\r\n\t\x07\x7f', 'latin1'), // terminal escapes, control chars
  Buffer.from('ok\u202egnp.exe\u2028\u2066x', 'utf8'), // bidi override, line separator, isolate
  Buffer.from([0xc2, 0x85, 0xc2, 0x9b, 0x00, 0x1b]), // C1 controls (NEL, CSI) as UTF-8, then NUL
  Buffer.from([0xe2, 0x80]), // a sequence cut by the field's end
];

interface Generated {
  batches: { buf: Buffer; count: number }[];
  /** records shorter than the layout, or whose header claims more than the batch holds */
  rejected: number;
  /** the others: full records the consumer must handle */
  full: Buffer[];
}

/** RECORDS records for `layout`, in the addon's batch format ([u32 len][u32 0][record][pad to 8]) */
function generate(layout: TypeLayout, kindField: string | undefined, seed: number): Generated {
  const rnd = prng(seed);
  const size = layout.size;
  const stringFields = Object.entries(layout.fields).filter(([name]) => name === 'comm' || name === 'device');
  const out: Generated = { batches: [], rejected: 0, full: [] };
  let records: Buffer[] = [];
  let hugeHeader = false;
  const flush = () => {
    const parts: Buffer[] = [];
    records.forEach((r, i) => {
      const head = Buffer.alloc(8);
      // the last record of some batches claims far more bytes than the batch holds
      const huge = hugeHeader && i === records.length - 1;
      head.writeUInt32LE(huge ? 0xffffffff : r.length, 0);
      if (huge && r.length >= size) out.rejected++;
      else if (r.length >= size) out.full.push(r);
      parts.push(head, r, Buffer.alloc((8 - (r.length % 8)) % 8));
    });
    // some batches say they hold more records than they do
    const count = records.length + (rnd() % 5 === 0 ? 3 : 0);
    out.batches.push({ buf: Buffer.concat(parts), count });
    records = [];
    hugeHeader = rnd() % 7 === 0;
  };
  for (let i = 0; i < RECORDS; i++) {
    let rec: Buffer;
    const mode = i % 6;
    if (mode === 1) {
      rec = Buffer.alloc(rnd() % size);
      for (let j = 0; j < rec.length; j++) rec[j] = rnd() & 0xff;
      out.rejected++;
    } else {
      rec = Buffer.alloc(mode === 5 ? size + (rnd() % 64) : size, mode === 2 ? 0xff : 0);
      if (mode === 0 || mode === 5) for (let j = 0; j < rec.length; j++) rec[j] = rnd() & 0xff;
      if (mode === 4) {
        // mostly plausible records with hostile strings, so the deeper paths (QP table, RTR tuple) run too
        for (let j = 0; j < size; j++) rec[j] = rnd() % 3 === 0 ? rnd() & 0xff : 0;
        if (kindField) rec.writeUInt32LE(1 + (rnd() % 3), layout.fields[kindField].offset);
        for (const [, f] of stringFields) NASTY_STRINGS[rnd() % NASTY_STRINGS.length].copy(rec, f.offset, 0, f.size);
      }
    }
    records.push(rec);
    if (records.length === PER_BATCH) flush();
  }
  if (records.length) flush();
  return out;
}

/** checks every span as it is exported and keeps only counts (100 000 spans would not fit in a test) */
class CheckingExporter implements SpanExporter {
  spans = 0;
  bad: string[] = [];
  export(spans: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    for (const s of spans) {
      this.spans++;
      const values = [s.name, ...Object.values(s.attributes), ...s.events.flatMap((e) => [e.name, ...Object.values(e.attributes ?? {})])];
      for (const v of values) if (typeof v === 'string' && UNPRINTABLE.test(v) && this.bad.length < 5) this.bad.push(JSON.stringify(v));
      for (const t of [s.startTime, s.endTime]) if (!t.every(Number.isFinite) && this.bad.length < 5) this.bad.push(`time ${t}`);
    }
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** a family context around a stand-in object: layouts from the real BPF object, ring batches from the test */
function fuzzContext(object: BpfObject) {
  const exporter = new CheckingExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('fuzz');
  const rings = new Map<string, RingBatchCallback>();
  const standIn = {
    layout: (name: string) => object.layout(name),
    openRingBuffer: (name: string, onBatch: RingBatchCallback) => {
      rings.set(name, onBatch);
      return { delivered: 0, drain: () => 0, close: () => undefined };
    },
  } as unknown as BpfObject;
  const { logger, lines } = captureLogger('warn');
  const drops = new UserDrops();
  const ctx: FamilyContext = {
    object: standIn,
    config: loadConfig({ env: {} }),
    meter: metrics.getMeter('fuzz'),
    tracer,
    cgroups: new CgroupResolver(undefined),
    logger,
    drops,
    maintenance: new Maintenance(1000, logger),
  };
  const feed = (ring: string, gen: Generated) => {
    const onBatch = rings.get(ring);
    assert.ok(onBatch, `${ring} opened`);
    for (const b of gen.batches) assert.doesNotThrow(() => onBatch(b.buf, b.count));
  };
  const decodeDrops = (family: string) => [...drops.entries()].find((e) => e.family === family && e.reason === 'decode')?.n ?? 0;
  return { ctx, exporter, feed, decodeDrops, log: lines, drops };
}

async function withObjectAsync(name: string, fn: (object: BpfObject) => Promise<void>): Promise<void> {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', `${name}.bpf.o`), { ladders: {} });
  try {
    await fn(object);
  } finally {
    object.close();
  }
}

function withObject(name: string, fn: (object: BpfObject) => void): void {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', `${name}.bpf.o`), { ladders: {} });
  try {
    fn(object);
  } finally {
    object.close();
  }
}

test('tcp_close_event: random and truncated records are decode drops or spans, never a throw', { skip: notRoot }, () => {
  withObject('tcp', (object) => {
    const f = fuzzContext(object);
    const runtime = startConnectionSpans(f.ctx);
    const layout = object.layout('tcp_close_event');
    const gen = generate(layout, undefined, SEED);
    f.feed('tcp_events', gen);
    runtime.close();
    assert.equal(f.decodeDrops('tcp'), gen.rejected, 'exactly the short and overlong records are decode drops');
    // a listener's close is no connection: every other full record is one span
    const stateAt = layout.fields['old_state'].offset;
    const listeners = gen.full.filter((r) => r.readUInt32LE(stateAt) === 10).length;
    assert.equal(f.exporter.spans, gen.full.length - listeners);
    assert.deepEqual(f.exporter.bad, [], 'every string printable, every time finite');
  });
});

for (const [object, family] of [
  ['rdma', 'rdma'],
  ['rdma_kernel', 'rdma_kernel'],
] as const) {
  test(
    `rdma_qp_event of ${object}.bpf.o: random records through the QP table, spans and connection table`,
    { skip: notRoot },
    async (t) => {
      const sysfs = fakeSysfs({ mlx5_0: { '1/0': 'fe80:0000:0000:0000:0200:0000:0000:0001' } });
      try {
        await withObjectAsync(object, async (o) => {
          const f = fuzzContext(o);
          const table = new QpTable(
            f.ctx.tracer,
            f.ctx.cgroups,
            new RdmaDevices(sysfs.root, () => f.drops.add(family, 'invalid_value')),
            true,
          );
          const runtime = startQpEvents(f.ctx, table, family);
          const gen = generate(o.layout('rdma_qp_event'), 'kind', SEED + 1);
          f.feed('rdma_events', gen);
          // the records wait in the consumer's backlog, handled a slice per turn of the loop
          for (let i = 0; i < 2 * Math.ceil(RECORDS / RING_BACKLOG.sliceRecords) + gen.batches.length; i++) await new Promise(setImmediate);
          assert.equal(f.decodeDrops(family), gen.rejected, 'exactly the short and overlong records are decode drops');
          t.diagnostic(`${table.size} QPs live in the table after ${RECORDS} records (${f.exporter.spans} spans ended so far)`);
          const console = connectionTable(table.connections(), f.ctx.cgroups).join('\n');
          assert.doesNotMatch(console.replace(/\n/g, ''), UNPRINTABLE, 'the console table is printable');
          runtime.close(); // ends every live QP's span
          assert.equal(table.size, 0);
          assert.ok(f.exporter.spans > 0);
          assert.deepEqual(f.exporter.bad, [], 'every string printable, every time finite');
        });
      } finally {
        sysfs.remove();
      }
    },
  );
}

test('lock_wait_event: random and truncated records are decode drops or lock.wait spans', { skip: notRoot }, () => {
  withObject('locks', (object) => {
    const f = fuzzContext(object);
    const symbols = KernelSymbols.parse('ffffffff81000000 T _stext\nffffffff82000000 D some_lock\n');
    const runtime = startWaitSpans(f.ctx, () => symbols);
    const gen = generate(object.layout('lock_wait_event'), undefined, SEED + 2);
    f.feed('lock_events', gen);
    runtime.close();
    assert.equal(f.decodeDrops('locks'), gen.rejected, 'exactly the short and overlong records are decode drops');
    assert.equal(f.exporter.spans, gen.full.length, 'every full record is a span');
    assert.deepEqual(f.exporter.bad, [], 'every string printable, every time finite');
  });
});

test('every map-key kind decoder names any u32 kind with printable strings, without throwing', () => {
  const rnd = prng(SEED + 3);
  const edges = [0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
  let decoders = 0;
  for (const family of families) {
    for (const m of family.kernelMetrics) {
      if (!m.kindAttributes) continue;
      decoders++;
      for (let i = 0; i < RECORDS; i++) {
        const kind = i < edges.length ? edges[i] : rnd();
        const attrs = m.kindAttributes(kind);
        for (const v of Object.values(attrs)) {
          if (typeof v === 'string' && UNPRINTABLE.test(v)) assert.fail(`${family.name} ${m.map} kind ${kind}: ${JSON.stringify(v)}`);
        }
      }
    }
  }
  assert.ok(decoders >= 8, `${decoders} kind decoders`);
});
