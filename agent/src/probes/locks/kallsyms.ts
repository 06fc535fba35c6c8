// Kernel addresses → symbol names from /proc/kallsyms, for the top-locks report. Statically allocated
// locks (in the kernel image or a module) resolve to the data symbol they live in, when the kernel lists
// data symbols (CONFIG_KALLSYMS_ALL); locks in allocated memory (inside heap objects, per-CPU areas) have no
// symbol and show as "[dynamic]".
import { parseKallsyms, readKallsymsTable, type SymbolTable } from './kallsymsTable';

/** a lock this far past the start of a data symbol is taken to be inside that object */
const MAX_DATA_OFFSET = 0x10000n;

export class KernelSymbols {
  private constructor(private readonly table: SymbolTable) {}

  /** from the text of a kallsyms file */
  static parse(text: string | Buffer): KernelSymbols {
    return new KernelSymbols(parseKallsyms(text));
  }

  static load(file = '/proc/kallsyms'): KernelSymbols {
    return new KernelSymbols(readKallsymsTable(file));
  }

  get available(): boolean {
    return this.table.available;
  }

  /** 'rtnl_mutex', 'some_table+0x40', '[static]' (image memory without a data symbol), '[dynamic]' */
  resolve(addr: bigint): string {
    const { addrs, barriers, names, modules, imageStart } = this.table;
    if (!this.available) return '[unresolved]';
    if (addr < imageStart) return '[dynamic]';
    // the last data symbol at or below addr
    let lo = -1;
    let hi = addrs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (addrs[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    if (lo < 0 || (barriers[lo] !== 0n && barriers[lo] <= addr)) return '[static]';
    const off = addr - addrs[lo];
    if (off >= MAX_DATA_OFFSET) return '[static]';
    return `${names[lo]}${off === 0n ? '' : `+0x${off.toString(16)}`}${modules[lo]}`;
  }
}
