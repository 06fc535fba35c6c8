// Is there an ib_core to hook? Checked before the kernel-path object is loaded, so `kotel probes` and the
// log say why in words instead of a libbpf relocation error. Also resolves kprobe targets in kallsyms
// (static functions such as _ib_modify_qp may be emitted as _ib_modify_qp.constprop.0).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Unavailable } from '../types';

export interface HostFiles {
  exists(path: string): boolean;
  read(path: string): string | undefined;
}

const realHost: HostFiles = {
  exists: (p) => fs.existsSync(p),
  read: (p) => {
    try {
      const buf = fs.readFileSync(p);
      return p.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
    } catch {
      return undefined;
    }
  },
};

type InfinibandConfig = 'y' | 'm' | 'n' | undefined;

/** per host: the running kernel's configuration does not change, and the module watch asks every interval */
const configs = new WeakMap<HostFiles, { value: InfinibandConfig }>();

/** CONFIG_INFINIBAND of the running kernel: 'y', 'm', 'n' (not set), or undefined when no config is readable */
export function infinibandConfig(host: HostFiles = realHost): InfinibandConfig {
  let known = configs.get(host);
  if (!known) configs.set(host, (known = { value: readInfinibandConfig(host) }));
  return known.value;
}

function readInfinibandConfig(host: HostFiles): InfinibandConfig {
  const config = host.read('/proc/config.gz') ?? host.read(`/boot/config-${os.release()}`);
  if (config === undefined) return undefined;
  const m = /^CONFIG_INFINIBAND=([ym])$/m.exec(config);
  if (m) return m[1] as 'y' | 'm';
  return /^# CONFIG_INFINIBAND is not set$/m.test(config) ? 'n' : undefined;
}

/** undefined when ib_core can be hooked here; otherwise why not */
export function ibCoreUnavailable(host: HostFiles = realHost): Unavailable | undefined {
  return moduleUnavailable('ib_core', 'load an RDMA driver or `modprobe ib_core`', host);
}

/** undefined when rdma_cm (the rdma_cma tracepoints) can be hooked here; otherwise why not */
export function rdmaCmUnavailable(host: HostFiles = realHost): Unavailable | undefined {
  return moduleUnavailable('rdma_cm', '`modprobe rdma_cm` (rdma_ucm loads it for librdmacm users)', host);
}

/** the running kernel ships `module` as a loadable module (modules.dep; for hosts without a readable config) */
function isModule(module: string, host: HostFiles): boolean {
  const dep = host.read(`/lib/modules/${os.release()}/modules.dep`);
  return dep !== undefined && new RegExp(`/${module}\\.ko(\\.[a-z]+)?:`).test(dep);
}

function moduleUnavailable(module: string, howToLoad: string, host: HostFiles): Unavailable | undefined {
  const loaded = host.exists(`/sys/module/${module}`) || host.exists(`/sys/kernel/btf/${module}`);
  if (!loaded) {
    const config = infinibandConfig(host);
    if (config === 'n')
      return { code: 'no_rdma', absent: true, reason: `${module} not loaded: no RDMA in this kernel (CONFIG_INFINIBAND off)` };
    if (config === 'm' || isModule(module, host))
      return { code: 'module_not_loaded', absent: true, reason: `${module} not loaded: ${howToLoad}` };
    if (config === 'y') return undefined; // built in: its BTF is in vmlinux
    return { code: 'no_rdma', absent: true, reason: `${module} not loaded (no /sys/module/${module}): no RDMA on this host` };
  }
  if (!host.exists(`/sys/kernel/btf/${module}`) && host.exists('/sys/kernel/btf/vmlinux')) {
    return {
      code: 'module_without_btf',
      reason: `${module} has no BTF (/sys/kernel/btf/${module} missing: kernel built without CONFIG_DEBUG_INFO_BTF_MODULES)`,
    };
  }
  return undefined;
}

/** the kallsyms name to kprobe for `fn`: itself, else a .constprop clone (same arguments); undefined when
 * only clones with changed arguments (.isra) or none exist */
export function kprobeTarget(fn: string, kallsyms: string | undefined): string | undefined {
  if (kallsyms === undefined) return fn;
  let clone: string | undefined;
  const re = new RegExp(`^\\S+ [tT] (${fn.replace(/[.$]/g, '\\$&')}(\\.constprop\\.\\d+)?)(\\s|$)`, 'gm');
  for (let m = re.exec(kallsyms); m; m = re.exec(kallsyms)) {
    if (!m[2]) return fn;
    clone ??= m[1];
  }
  return clone;
}

export function readKallsyms(host: HostFiles = realHost): string | undefined {
  return host.read('/proc/kallsyms');
}
