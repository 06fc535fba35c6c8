// Containers may carry their own libibverbs file: uprobes attach to a file (inode), so the host library's
// hooks never fire there. Every interval, the libraries mapped by running processes are listed
// (/proc/PID/maps) and every new file gets the same programs attached.
import type { FamilyContext, FamilyRuntime } from '../types';
import { fileIdentity, mappedLibraries, resolveVerbs } from './library';

export function startLibraryScan(ctx: FamilyContext, hostLibrary: string, intervalMs: number): FamilyRuntime {
  const attached = new Map<string, number[]>(); // identity → link ids
  const failed = new Set<string>();
  const hostId = fileIdentity(hostLibrary);
  const scan = () => {
    for (const [id, file] of mappedLibraries()) {
      if (id === hostId || attached.has(id) || failed.has(id)) continue;
      const links: number[] = [];
      try {
        for (const v of resolveVerbs(file)) {
          links.push(ctx.object.attachUprobe(`${v.base}_in`, file, v.offset, false));
          links.push(ctx.object.attachUprobe(`${v.base}_out`, file, v.offset, true));
        }
        attached.set(id, links);
        ctx.logger.info(`rdma: attached to another ${file.replace(/^\/proc\/\d+\/root/, '')} (${id}) found in ${file}`);
      } catch (err) {
        for (const l of links) ctx.object.detach(l);
        failed.add(id);
        ctx.logger.warn(`rdma: cannot attach to ${file}: ${(err as Error).message}`);
      }
    }
  };
  scan();
  const timer = setInterval(scan, intervalMs);
  timer.unref();
  return {
    close: () => {
      clearInterval(timer);
      for (const links of attached.values()) for (const l of links) ctx.object.detach(l);
      attached.clear();
    },
  };
}
