// Kernel addresses → symbol names from /proc/kallsyms, for the top-locks report. Statically allocated
// locks (in the kernel image or a module) resolve to the data symbol they live in, when the kernel lists
// data symbols (CONFIG_KALLSYMS_ALL); locks in allocated memory (inside heap objects, per-CPU areas) have no
// symbol and show as "[dynamic]".
import * as fs from 'node:fs';

/** a lock this far past the start of a data symbol is taken to be inside that object */
const MAX_DATA_OFFSET = 0x10000n;
const DATA_TYPES = new Set(['d', 'D', 'b', 'B', 'r', 'R']);
/** kernel addresses are in the upper half; x86-64 before Linux 6.15 lists per-CPU variables as zero-based
 * offsets into each CPU's area (`000000000001f000 D runqueues`): not addresses, left out */
const KERNEL_HALF = 1n << 63n;

export class KernelSymbols {
  private readonly addrs: BigUint64Array;
  private readonly names: string[];
  private readonly modules: string[];
  private readonly data: boolean[];
  /** lowest address of the kernel image: below it, memory is allocated at run time */
  private readonly imageStart: bigint;

  constructor(text: string) {
    const rows: { addr: bigint; name: string; mod: string; data: boolean }[] = [];
    for (const line of text.split('\n')) {
      const [hex, type, name, mod] = line.split(/\s+/);
      if (!name) continue;
      const addr = BigInt(`0x${hex}`);
      if (addr < KERNEL_HALF) continue; // per-CPU offsets, or 0: hidden by kptr_restrict
      rows.push({ addr, name, mod: mod ? ` ${mod}` : '', data: DATA_TYPES.has(type) });
    }
    rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    this.addrs = BigUint64Array.from(rows.map((r) => r.addr));
    this.names = rows.map((r) => r.name);
    this.modules = rows.map((r) => r.mod);
    this.data = rows.map((r) => r.data);
    this.imageStart = rows.length ? rows[0].addr : 0n;
  }

  static load(file = '/proc/kallsyms'): KernelSymbols {
    return new KernelSymbols(fs.readFileSync(file, 'latin1'));
  }

  get available(): boolean {
    return this.addrs.length > 0;
  }

  /** 'rtnl_mutex', 'some_table+0x40', '[static]' (image memory without a data symbol), '[dynamic]' */
  resolve(addr: bigint): string {
    if (!this.available) return '[unresolved]';
    if (addr < this.imageStart) return '[dynamic]';
    let lo = 0;
    let hi = this.addrs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.addrs[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    const off = addr - this.addrs[lo];
    if (!this.data[lo] || off >= MAX_DATA_OFFSET) return '[static]';
    return `${this.names[lo]}${off === 0n ? '' : `+0x${off.toString(16)}`}${this.modules[lo]}`;
  }
}
