// The part of /proc/kallsyms that naming a lock address needs, parsed from the bytes: the data symbols, in
// address order (file order among equal addresses), and for each the lowest address of a non-data symbol
// after it, where an object it starts cannot reach. The ~120k text symbols become no strings or objects,
// and the file is read in chunks: loading once took ~80 MB of allocations and left ~60 MB of RSS behind.
import * as fs from 'node:fs';

/** x86-64 before Linux 6.15 lists per-CPU variables as zero-based offsets into each CPU's area
 * (`000000000001f000 D runqueues`): not addresses; kernel addresses are in the upper half */
const KERNEL_HALF_HI = 0x80000000;
const DATA_TYPES = new Set([...'dDbBrR'].map((c) => c.charCodeAt(0)));
const NEWLINE = 0x0a;
const READ_CHUNK = 1 << 20;

export interface SymbolTable {
  /** any kernel address listed (none: kptr_restrict hides them) */
  available: boolean;
  /** lowest address of the kernel image: below it, memory is allocated at run time */
  imageStart: bigint;
  /** data symbols by address */
  addrs: BigUint64Array;
  names: string[];
  /** ' [module]' or '' */
  modules: string[];
  /** per data symbol: the lowest address of a non-data symbol after it; 0n: none */
  barriers: BigUint64Array;
}

interface DataSymbol {
  hi: number;
  lo: number;
  pos: number;
  name: string;
  mod: string;
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** (hi, lo, pos) of a before (hi, lo, pos) of b */
const before = (ah: number, al: number, ap: number, bh: number, bl: number, bp: number) =>
  ah !== bh ? ah < bh : al !== bl ? al < bl : ap < bp;

const big = (hi: number, lo: number) => (BigInt(hi) << 32n) | BigInt(lo);

export class SymbolTableBuilder {
  private readonly data: DataSymbol[] = [];
  /** non-data symbols: hi, lo, position, three words each */
  private others = new Uint32Array(3 * 4096);
  private nOthers = 0;
  private pos = 0;
  /** start and end of each field of the line being parsed */
  private readonly fields = new Int32Array(8);
  private min?: { hi: number; lo: number };

  /** the lines in buf[start, end) */
  addLines(buf: Buffer, start: number, end: number): void {
    while (start < end) {
      let eol = buf.indexOf(NEWLINE, start);
      if (eol < 0 || eol > end) eol = end;
      this.addLine(buf, start, eol);
      start = eol + 1;
    }
  }

  private addLine(buf: Buffer, start: number, end: number): void {
    // whitespace-separated fields: address, type, name, [module]
    const fields = this.fields;
    let n = 0;
    for (let i = start; i < end && n < 8;) {
      while (i < end && isSpace(buf[i])) i++;
      const s = i;
      while (i < end && !isSpace(buf[i])) i++;
      if (i > s) {
        fields[n++] = s;
        fields[n++] = i;
      }
    }
    if (n < 6) return;
    const hexStart = fields[0];
    const hexEnd = fields[1];
    let hi = 0;
    let lo = 0;
    for (let i = hexStart; i < hexEnd; i++) {
      const d = hexDigit(buf[i]);
      if (d < 0 || hexEnd - hexStart > 16) throw new SyntaxError(`kallsyms: bad address ${buf.toString('latin1', hexStart, hexEnd)}`);
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | d) >>> 0;
    }
    if (hi < KERNEL_HALF_HI) return; // per-CPU offsets, or 0: hidden by kptr_restrict
    const pos = this.pos++;
    if (!this.min || before(hi, lo, 0, this.min.hi, this.min.lo, 0)) this.min = { hi, lo };
    if (fields[3] - fields[2] === 1 && DATA_TYPES.has(buf[fields[2]])) {
      const mod = n === 8 ? ` ${buf.toString('latin1', fields[6], fields[7])}` : '';
      this.data.push({ hi, lo, pos, name: buf.toString('latin1', fields[4], fields[5]), mod });
      return;
    }
    if (3 * (this.nOthers + 1) > this.others.length) {
      const grown = new Uint32Array(this.others.length * 2);
      grown.set(this.others);
      this.others = grown;
    }
    const k = 3 * this.nOthers++;
    this.others[k] = hi;
    this.others[k + 1] = lo;
    this.others[k + 2] = pos;
  }

  build(): SymbolTable {
    const data = this.data.sort((a, b) => (before(a.hi, a.lo, a.pos, b.hi, b.lo, b.pos) ? -1 : 1));
    const barriers = new BigUint64Array(data.length);
    const o = this.others;
    for (let k = 0; k < this.nOthers; k++) {
      const hi = o[3 * k];
      const lo = o[3 * k + 1];
      const pos = o[3 * k + 2];
      // the last data symbol before this one
      let l = -1;
      let h = data.length - 1;
      while (l < h) {
        const mid = (l + h + 1) >> 1;
        const d = data[mid];
        if (before(d.hi, d.lo, d.pos, hi, lo, pos)) l = mid;
        else h = mid - 1;
      }
      if (l < 0) continue;
      const addr = big(hi, lo);
      if (barriers[l] === 0n || addr < barriers[l]) barriers[l] = addr;
    }
    return {
      available: this.min !== undefined,
      imageStart: this.min ? big(this.min.hi, this.min.lo) : 0n,
      addrs: BigUint64Array.from(data, (d) => big(d.hi, d.lo)),
      names: data.map((d) => d.name),
      modules: data.map((d) => d.mod),
      barriers,
    };
  }
}

export function parseKallsyms(text: string | Buffer): SymbolTable {
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const builder = new SymbolTableBuilder();
  builder.addLines(buf, 0, buf.length);
  return builder.build();
}

/** reads `file` in chunks (procfs gives no size to read it at once) */
export function readKallsymsTable(file: string): SymbolTable {
  const builder = new SymbolTableBuilder();
  const buf = Buffer.allocUnsafeSlow(READ_CHUNK);
  const fd = fs.openSync(file, 'r');
  try {
    let kept = 0;
    for (;;) {
      if (kept === buf.length) throw new Error(`${file}: a line longer than ${READ_CHUNK} bytes`);
      const end = kept + fs.readSync(fd, buf, kept, buf.length - kept, null);
      if (end === kept) {
        builder.addLines(buf, 0, end);
        break;
      }
      const complete = buf.lastIndexOf(NEWLINE, end - 1) + 1;
      builder.addLines(buf, 0, complete);
      kept = end - complete;
      buf.copyWithin(0, complete, end);
    }
  } finally {
    fs.closeSync(fd);
  }
  return builder.build();
}
