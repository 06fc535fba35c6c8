// Families that hook a kernel module (ib_core, rdma_cm) and were unavailable at start because it was not
// loaded: their pre-check runs again every bpf.moduleWatchInterval, and once it passes (an RDMA driver
// loaded after boot, rdma_cm loaded by the first librdmacm user) they are loaded and started. One attempt
// per appearance: a family that then fails to load stays failed, with the new reason.
import type { Logger } from 'pino';
import type { KotelConfig } from '../config';
import { loadFamilies, type LoadedFamily, type LoadResult } from './load';

/** starts the checks; returns stop() */
export function watchModules(config: KotelConfig, load: LoadResult, logger: Logger, start: (loaded: LoadedFamily) => void): () => void {
  const waiting = () => load.failed.filter((f) => f.precheck && f.family.modules?.length);
  if (config.bpf.moduleWatchInterval <= 0 || waiting().length === 0) return () => {};
  for (const { family } of waiting())
    logger.info(
      `family ${family.name}: loaded when ${family.modules!.join(', ')} appears (checked every ${config.bpf.moduleWatchInterval} ms)`,
    );
  const timer = setInterval(() => {
    for (const failure of waiting()) {
      const { family } = failure;
      // its own pre-check, not just /sys/module: a module's BTF is registered a moment after its sysfs entry
      const absent = family.unavailable?.(config);
      if (absent) {
        Object.assign(failure, absent);
        continue;
      }
      load.failed.splice(load.failed.indexOf(failure), 1);
      logger.info(`family ${family.name}: ${family.modules!.join(', ')} appeared: loading`);
      const late = loadFamilies(config, [family], logger);
      load.failed.push(...late.failed.map((f) => ({ ...f, precheck: false })));
      for (const loaded of late.loaded) {
        load.loaded.push(loaded);
        try {
          start(loaded);
        } catch (err) {
          logger.error(`family ${family.name}: start failed: ${(err as Error).message}`);
        }
        const n = loaded.attachments.filter((a) => a.attached).length;
        logger.info(`family ${family.name} running (${n} probes attached)`);
      }
    }
    if (waiting().length === 0) clearInterval(timer);
  }, config.bpf.moduleWatchInterval);
  timer.unref();
  return () => clearInterval(timer);
}
