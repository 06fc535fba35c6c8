// Field access for records decoded from ring-buffer batches and map buffers, by the offsets the BPF
// object's BTF reports (native layout()), so no offset is hard-coded in TypeScript.
import type { TypeLayout } from '../native';
import { readU64 } from './mapValues';

export class RecordReader<F extends string> {
  readonly size: number;
  private readonly offsets: Record<F, number>;
  private readonly sizes: Record<F, number>;

  constructor(layout: TypeLayout, fields: readonly F[], typeName: string) {
    this.size = layout.size;
    this.offsets = {} as Record<F, number>;
    this.sizes = {} as Record<F, number>;
    for (const f of fields) {
      const fl = layout.fields[f];
      if (!fl) throw new Error(`BPF record ${typeName} has no field ${f}: rebuild the BPF objects (npm run build)`);
      this.offsets[f] = fl.offset;
      this.sizes[f] = fl.size;
    }
  }

  u16(buf: Buffer, base: number, f: F): number {
    return buf.readUInt16LE(base + this.offsets[f]);
  }
  u32(buf: Buffer, base: number, f: F): number {
    return buf.readUInt32LE(base + this.offsets[f]);
  }
  u64(buf: Buffer, base: number, f: F): number {
    return readU64(buf, base + this.offsets[f]);
  }
  big64(buf: Buffer, base: number, f: F): bigint {
    return buf.readBigUInt64LE(base + this.offsets[f]);
  }
  bytes(buf: Buffer, base: number, f: F): Buffer {
    const off = base + this.offsets[f];
    return buf.subarray(off, off + this.sizes[f]);
  }
  /** NUL-terminated string field (comm, device names): bounded by the field, made printable */
  str(buf: Buffer, base: number, f: F): string {
    const b = this.bytes(buf, base, f);
    const end = b.indexOf(0);
    return printable(b.subarray(0, end < 0 ? b.length : end));
  }
  /** a field's offset in the record, for decoders on a hot path that read it without the name lookup */
  offset(f: F): number {
    return this.offsets[f];
  }
  /** str() of a field whose values repeat (comm, device names), remembered by their bytes */
  stringField(f: F, max?: number): StringField {
    return new StringField(this.offsets[f], this.sizes[f], max);
  }
}

/** RecordReader.str() of one field, with the strings remembered by their raw bytes: the last one (most
 * records repeat their predecessor's comm or device) compared byte by byte, others in a Map by a latin1 key
 * (at most `max`, then forgotten all at once); a repeated name costs no UTF-8 decode, printable() pass or
 * allocation */
export class StringField {
  private readonly seen = new Map<string, string>();
  private readonly last: Buffer;
  private lastLength = -1;
  private lastString = '';

  constructor(
    private readonly offset: number,
    private readonly size: number,
    private readonly max = 256,
  ) {
    this.last = Buffer.alloc(size);
  }

  read(buf: Buffer, base: number): string {
    const start = base + this.offset;
    const limit = start + this.size;
    let end = start;
    while (end < limit && buf[end] !== 0) end++;
    const length = end - start;
    if (length === this.lastLength) {
      let i = 0;
      while (i < length && buf[start + i] === this.last[i]) i++;
      if (i === length) return this.lastString;
    }
    // latin1 maps each byte to one character: distinct bytes, distinct keys
    const raw = buf.toString('latin1', start, end);
    let s = this.seen.get(raw);
    if (s === undefined) {
      if (this.seen.size >= this.max) this.seen.clear();
      s = printable(buf.subarray(start, end));
      this.seen.set(raw, s);
    }
    buf.copy(this.last, 0, start, end);
    this.lastLength = length;
    this.lastString = s;
    return s;
  }
}

/** what eachRecord needs of a family's context */
export interface RecordSink {
  drops: { add(family: string, reason: string, n?: number): void };
  logger: { warn(msg: string): void };
}

const warned = new WeakSet<RecordSink>();

/** handle(base) for each record of a ring-buffer batch that is at least `size` bytes. A shorter record, one
 * whose length runs past the batch, or one handle() throws on, is a `decode` drop of `family`: this runs in
 * a libuv callback, where a throw would end the agent (the first such error is logged). */
export function eachRecord(
  sink: RecordSink,
  family: string,
  batch: Buffer,
  count: number,
  size: number,
  handle: (base: number) => void,
): void {
  forEachRecord(batch, count, (offset, length) => handleRecord(sink, family, batch, offset, length, size, handle));
}

/** eachRecord's work for one record of a batch (consumers that handle a batch in slices) */
export function handleRecord(
  sink: RecordSink,
  family: string,
  batch: Buffer,
  offset: number,
  length: number,
  size: number,
  handle: (base: number) => void,
): void {
  if (length < size || offset + length > batch.length) {
    sink.drops.add(family, 'decode');
    return;
  }
  try {
    handle(offset);
  } catch (err) {
    sink.drops.add(family, 'decode');
    if (!warned.has(sink)) {
      warned.add(sink);
      sink.logger.warn(`${family}: a ring-buffer record could not be handled (counted as a decode drop): ${(err as Error).message}`);
    }
  }
}

/** a ring-buffer batch (native openRingBuffer) holds records as [u32 len][u32 0][record][pad to 8] */
export const RECORD_HEADER = 8;

/** where the record after the one whose header is at `at` (of `length` bytes) starts */
export function nextRecord(at: number, length: number): number {
  return at + RECORD_HEADER + Math.ceil(length / 8) * 8;
}

/** calls fn for each record of a ring-buffer batch: a plain loop, no object per record (at 1M records/s a
 * generator's cost shows) */
export function forEachRecord(batch: Buffer, count: number, fn: (offset: number, length: number) => void): void {
  // headers through a DataView: TurboFan inlines getUint32, Buffer.readUInt32LE costs property loads
  const view = new DataView(batch.buffer, batch.byteOffset, batch.length);
  const end = batch.length;
  let off = 0;
  for (let i = 0; i < count && off + RECORD_HEADER <= end; i++) {
    const length = view.getUint32(off, true);
    fn(off + RECORD_HEADER, length);
    off = nextRecord(off, length);
  }
}

/** characters a terminal or a log viewer acts on: C0 and C1 controls, DEL, bidirectional overrides and
 * line/paragraph separators */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** bytes a traced process chose (its comm, names in its memory) as text safe to export and print: UTF-8
 * (invalid sequences as U+FFFD), the characters above as \xNN or \uNNNN */
export function printable(bytes: Buffer): string {
  return bytes.toString('utf8').replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
