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
  /** NUL-terminated string field (comm) */
  str(buf: Buffer, base: number, f: F): string {
    const b = this.bytes(buf, base, f);
    const end = b.indexOf(0);
    return b.toString('latin1', 0, end < 0 ? b.length : end);
  }
}

/** iterates the records of a ring-buffer batch: [u32 len][u32 0][record][pad to 8] */
export function* batchRecords(batch: Buffer, count: number): Generator<{ offset: number; length: number }> {
  let off = 0;
  for (let i = 0; i < count && off + 8 <= batch.length; i++) {
    const length = batch.readUInt32LE(off);
    yield { offset: off + 8, length };
    off += 8 + Math.ceil(length / 8) * 8;
  }
}
