// Containers may carry their own libibverbs file: uprobes attach to a file (inode), so the host library's
// hooks never fire there. Every interval, the libraries mapped by running processes are listed
// (/proc/PID/maps) and every new file gets the same programs attached; a file no process maps any more is
// detached again.
import type { FamilyContext, FamilyRuntime } from '../types';
import { fileIdentity, mappedLibraries, resolveVerbs } from './library';

export function startLibraryScan(ctx: FamilyContext, hostLibrary: string, intervalMs: number): FamilyRuntime {
  const attached = new Map<string, { file: string; links: number[] }>(); // identity → where found, link ids
  const failed = new Set<string>();
  const hostId = fileIdentity(hostLibrary);
  const shown = (file: string) => file.replace(/^\/proc\/\d+\/root/, '');
  const scan = () => {
    const mapped = mappedLibraries();
    for (const [id, { file, links }] of attached) {
      if (mapped.has(id)) continue;
      // the kernel keeps a reference to the path a uprobe was attached by (trace_uprobe's path): left
      // attached, it keeps that mount busy, and an exited container's overlay rootfs cannot be unmounted
      for (const l of links) ctx.object.detach(l);
      attached.delete(id);
      ctx.logger.info(`rdma: detached from ${shown(file)} (${id}): no process maps it any more`);
    }
    for (const [id, file] of mapped) {
      if (id === hostId || attached.has(id) || failed.has(id)) continue;
      const links: number[] = [];
      try {
        for (const v of resolveVerbs(file)) {
          links.push(ctx.object.attachUprobe(`${v.base}_in`, file, v.offset, false));
          links.push(ctx.object.attachUprobe(`${v.base}_out`, file, v.offset, true));
        }
        attached.set(id, { file, links });
        ctx.logger.info(`rdma: attached to another ${shown(file)} (${id}) found in ${file}`);
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
      for (const { links } of attached.values()) for (const l of links) ctx.object.detach(l);
      attached.clear();
    },
  };
}
