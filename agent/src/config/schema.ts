/**
 * The configuration schema: one place that names every key, its type, default, documentation and
 * environment variable. convict reads it (agent/src/config/load.ts); the README's configuration table is
 * generated from it (configDocTable()).
 *
 * Adding a probe family: add `families.<name>` next to `families.tcp` below and a matching interface in
 * KotelConfig; the environment variable names are derived from the key (families.sched.enabled →
 * KOTEL_FAMILIES_SCHED_ENABLED).
 */

/** Value formats known to the validator; each also registered with convict as `kotel-<name>`. */
export type FormatName = 'bool' | 'int' | 'port' | 'ms' | 'string' | 'endpoint' | 'kvlist' | 'file';

export interface KeySpec {
  doc: string;
  /** a format name, or the list of allowed string values */
  format: FormatName | readonly string[];
  default: boolean | number | string;
  /** smallest allowed value for 'int' and 'ms' */
  min?: number;
  /** set by withEnvNames() when missing: KOTEL_ + upper snake case of the key */
  env?: string;
  /** the command-line flag that sets it, for documentation */
  flag?: string;
  /** a k=v list whose values are secrets (tokens in OTLP headers): never printed, only the keys */
  secret?: boolean;
}

export interface SchemaNode {
  [name: string]: KeySpec | SchemaNode;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf'] as const;
export const TEMPORALITIES = ['cumulative', 'delta', 'lowmemory'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export type TemporalityPreference = (typeof TEMPORALITIES)[number];

/** The effective configuration, as loadConfig() returns it. Mirrors SCHEMA key for key. */
export interface KotelConfig {
  families: {
    tcp: {
      enabled: boolean;
      connectionSpans: boolean;
      maxSockets: number;
      maxCgroupKeys: number;
    };
    sched: {
      enabled: boolean;
      offCpu: boolean;
      perCpu: boolean;
      maxCgroupKeys: number;
      maxTasks: number;
    };
    rdma: {
      enabled: boolean;
      library: string;
      libraryScanInterval: number;
      qpSpans: boolean;
      sysfsRoot: string;
      maxObjects: number;
      maxCgroupKeys: number;
      ringBufferBytes: number;
      kernel: boolean;
      seedFromNetlink: boolean;
    };
    locks: {
      enabled: boolean;
      contention: boolean;
      futex: boolean;
      spanThresholdMs: number;
      topLocks: number;
      maxLockAddresses: number;
      maxCgroupKeys: number;
    };
  };
  otlp: {
    enabled: boolean;
    endpoint: string;
    metricsEndpoint: string;
    tracesEndpoint: string;
    protocol: OtlpProtocol;
    headers: string;
    timeout: number;
    temporality: TemporalityPreference;
    traces: boolean;
    tls: { ca: string; cert: string; key: string };
  };
  metrics: { interval: number };
  prometheus: { enabled: boolean; host: string; port: number };
  console: { enabled: boolean; interval: number };
  service: { name: string };
  resource: { attributes: string };
  sdk: { disabled: boolean };
  log: { level: LogLevel };
  bpf: { runTimeStats: boolean; objectDir: string; moduleWatchInterval: number };
}

/** Probe families known to the schema (the `--families` flag accepts these). */
export const FAMILIES = ['tcp', 'sched', 'rdma', 'locks'] as const;

const RAW_SCHEMA: SchemaNode = {
  families: {
    tcp: {
      enabled: { doc: 'Attach the TCP probes (RTT, connect latency, retransmits).', format: 'bool', default: true },
      connectionSpans: {
        doc: 'Emit one span per TCP connection when it closes (4-tuple, bytes, RTT, retransmits).',
        format: 'bool',
        default: false,
      },
      maxSockets: {
        doc: 'Sockets tracked at once in the kernel (size of the per-socket map); more are not followed.',
        format: 'int',
        min: 1,
        default: 65536,
      },
      maxCgroupKeys: {
        doc: 'Distinct cgroups the TCP metrics are kept for (size of the per-cgroup maps).',
        format: 'int',
        min: 1,
        default: 10240,
      },
    },
    sched: {
      enabled: { doc: 'Attach the scheduler probes (run-queue delay, context switches, migrations).', format: 'bool', default: true },
      offCpu: {
        doc: 'Also the off-CPU time distribution (sched.offcpu.duration): one more timestamp per voluntary switch and one more histogram update per switch-in.',
        format: 'bool',
        default: false,
      },
      perCpu: {
        doc: 'Split sched.runqueue.delay by cpu.id too: series and per-cgroup map entries multiply by the CPUs in use (each entry holds one histogram per possible CPU: 344 B x CPUs), so raise maxCgroupKeys to cgroups x CPUs.',
        format: 'bool',
        default: false,
      },
      maxCgroupKeys: {
        doc: 'Distinct (cgroup, kind) keys the scheduler metrics are kept for (size of the per-cgroup maps).',
        format: 'int',
        min: 1,
        default: 10240,
      },
      maxTasks: {
        doc: 'Threads whose wakeup time is tracked at once when the kernel lacks tp_btf (pid-keyed LRU hash; with tp_btf, task storage is used and this is unused).',
        format: 'int',
        min: 64,
        default: 65536,
      },
    },
    rdma: {
      enabled: {
        doc: 'Attach the RDMA verbs probes (uprobes on libibverbs): live resources, verb calls, QP transitions.',
        format: 'bool',
        default: true,
      },
      library: {
        doc: 'Path of libibverbs.so.1 to hook; empty: the one ldconfig finds. Processes using another copy are found through /proc/PID/maps.',
        format: 'string',
        default: '',
      },
      libraryScanInterval: {
        doc: 'Interval between two scans of /proc/*/maps for other libibverbs files (containers) to hook; 0: never (ms).',
        format: 'ms',
        default: 10000,
      },
      qpSpans: {
        doc: 'Emit one span per QP, from create to destroy, with an event per state transition and the connection tuple.',
        format: 'bool',
        default: true,
      },
      sysfsRoot: {
        doc: 'sysfs root the source GIDs are read from (<root>/class/infiniband/<dev>/ports/<port>/gids/<index>); change only for tests with a fake sysfs tree.',
        format: 'string',
        default: '/sys',
      },
      maxObjects: {
        doc: 'Live verbs objects (QPs, PDs, CQs, MRs, contexts) tracked at once in the kernel, and QPs in the span and connection table; more are counted as map_full drops.',
        format: 'int',
        min: 1,
        default: 262144,
      },
      maxCgroupKeys: {
        doc: 'Distinct (cgroup, kind) keys the RDMA counters are kept for (size of the per-cgroup maps).',
        format: 'int',
        min: 1,
        default: 10240,
      },
      ringBufferBytes: {
        doc: 'Size of each RDMA QP-event ring buffer (spans, connection table): a power of two, at least 4096; bursts beyond it are counted as ringbuf_full drops.',
        format: 'int',
        min: 4096,
        default: 4194304,
      },
      kernel: {
        doc: 'Also hook the kernel verbs layer (families rdma_kernel: ib_core restrack and _ib_modify_qp; rdma_cm: the rdma_cma tracepoints) where those modules are loaded; reported as unavailable, with the reason, elsewhere, and loaded when the modules appear.',
        format: 'bool',
        default: true,
      },
      seedFromNetlink: {
        doc: 'Kernel path: count the RDMA objects that exist when kotel starts, from RDMA netlink (`rdma -j resource show`, iproute2).',
        format: 'bool',
        default: true,
      },
    },
    locks: {
      enabled: {
        doc: 'Attach the lock probes: kernel lock contention and futex (user-space lock) wait times.',
        format: 'bool',
        default: true,
      },
      contention: {
        doc: 'Kernel lock contention (lock:contention_begin/end): wait-time histograms by lock kind, and the most contended locks.',
        format: 'bool',
        default: true,
      },
      futex: {
        doc: 'Futex (user-space lock) wait times. Off by default: hooking sys_enter/sys_exit sends every syscall of the host through the kernel syscall-tracing path (~+300 ns per syscall on the reference VM).',
        format: 'bool',
        default: false,
      },
      spanThresholdMs: {
        doc: 'Emit a lock.wait span for every single kernel-lock or futex wait at least this long; 0: no spans (ms).',
        format: 'ms',
        min: 0,
        default: 0,
      },
      topLocks: {
        doc: 'Most contended kernel locks exported (lock.contention.top) and shown in the console report; 0: do not track lock addresses.',
        format: 'int',
        min: 0,
        default: 10,
      },
      maxLockAddresses: {
        doc: 'Contended kernel lock addresses tracked at once (the agent evicts cold ones when 3/4 full); more are counted as map_full drops.',
        format: 'int',
        min: 16,
        default: 1024,
      },
      maxCgroupKeys: {
        doc: 'Distinct (cgroup, kind) keys the lock histograms are kept for (size of the per-cgroup maps).',
        format: 'int',
        min: 1,
        default: 10240,
      },
    },
  },
  otlp: {
    enabled: {
      doc: 'Export metrics (and spans) over OTLP to a collector.',
      format: 'bool',
      default: true,
      flag: '--no-otlp',
    },
    endpoint: {
      doc:
        'OTLP collector endpoint. Empty: localhost:4317 for grpc, http://localhost:4318 for http/protobuf. ' +
        'For http/protobuf, /v1/metrics and /v1/traces are appended. No scheme or http:// means plaintext.',
      format: 'endpoint',
      default: '',
      flag: '--otlp-endpoint',
    },
    metricsEndpoint: {
      doc: 'Full OTLP endpoint for metrics only (used as is); empty: derived from otlp.endpoint.',
      format: 'endpoint',
      default: '',
    },
    tracesEndpoint: {
      doc: 'Full OTLP endpoint for spans only (used as is); empty: derived from otlp.endpoint.',
      format: 'endpoint',
      default: '',
    },
    protocol: {
      doc: 'OTLP transport.',
      format: OTLP_PROTOCOLS,
      default: 'grpc',
      flag: '--otlp-protocol',
    },
    headers: {
      doc: 'Extra OTLP request headers (gRPC metadata), as k=v,k2=v2 with URL-encoded values. Values are never printed (check-config shows them as ***).',
      format: 'kvlist',
      default: '',
      secret: true,
    },
    timeout: { doc: 'Timeout of one OTLP export, retries included (ms).', format: 'ms', min: 1, default: 10000 },
    temporality: {
      doc: 'Aggregation temporality of OTLP metrics (Prometheus and the console are always cumulative).',
      format: TEMPORALITIES,
      default: 'cumulative',
    },
    traces: { doc: 'Export spans over OTLP too (not only metrics).', format: 'bool', default: true },
    tls: {
      ca: {
        doc: "PEM file of the CA(s) that signed the collector's certificate, for https:// endpoints (gRPC and HTTP); empty: the system's CAs.",
        format: 'file',
        default: '',
      },
      cert: {
        doc: 'PEM file of the client certificate (chain) for collectors that require mTLS; needs otlp.tls.key.',
        format: 'file',
        default: '',
      },
      key: { doc: 'PEM file of the private key of otlp.tls.cert.', format: 'file', default: '' },
    },
  },
  metrics: {
    interval: {
      doc: 'Interval between two OTLP metric exports, i.e. kernel map collections (ms).',
      format: 'ms',
      min: 100,
      default: 10000,
    },
  },
  prometheus: {
    enabled: {
      doc: 'Serve metrics for Prometheus to scrape at http://<host>:<port>/metrics.',
      format: 'bool',
      default: true,
      flag: '--no-prometheus',
    },
    host: { doc: 'Address the Prometheus endpoint listens on.', format: 'string', default: '127.0.0.1' },
    port: { doc: 'Port of the Prometheus endpoint.', format: 'port', default: 9464, flag: '--prometheus-port' },
  },
  console: {
    enabled: {
      doc: 'Print a top-like report of all metrics to stdout.',
      format: 'bool',
      default: true,
      flag: '--no-console',
    },
    interval: { doc: 'Interval between two console reports (ms).', format: 'ms', min: 100, default: 5000 },
  },
  service: {
    name: { doc: 'service.name resource attribute.', format: 'string', default: 'kotel' },
  },
  resource: {
    attributes: {
      doc: 'Extra resource attributes, as k=v,k2=v2 with URL-encoded values (like OTEL_RESOURCE_ATTRIBUTES).',
      format: 'kvlist',
      default: '',
    },
  },
  sdk: {
    disabled: {
      doc: 'Disable the OpenTelemetry SDK: no reader or exporter at all (instruments become no-ops).',
      format: 'bool',
      default: false,
    },
  },
  log: {
    level: { doc: 'Log level of the agent (logs go to stderr).', format: LOG_LEVELS, default: 'info', flag: '--log-level' },
  },
  bpf: {
    runTimeStats: {
      doc: 'Enable the kernel BPF run-time statistics (kernel.bpf_stats_enabled); costs ~20 ns per event.',
      format: 'bool',
      default: false,
    },
    objectDir: {
      doc: "Directory holding the compiled BPF objects; empty: the package's bpf/.output.",
      format: 'string',
      default: '',
    },
    moduleWatchInterval: {
      doc: 'Interval between two checks for the kernel modules of families that could not load without them (ib_core, rdma_cm); such a family loads when its modules appear. 0: never (ms).',
      format: 'ms',
      default: 10000,
    },
  },
};

/** KOTEL_ + the key in upper snake case: families.tcp.maxSockets → KOTEL_FAMILIES_TCP_MAX_SOCKETS */
export function envNameFor(key: string): string {
  return (
    'KOTEL_' +
    key
      .split('.')
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
      .join('_')
      .toUpperCase()
  );
}

export function isKeySpec(n: KeySpec | SchemaNode): n is KeySpec {
  return typeof (n as KeySpec).doc === 'string' && 'default' in n && 'format' in n;
}

function withEnvNames(node: SchemaNode, prefix: string): SchemaNode {
  const out: SchemaNode = {};
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    out[k] = isKeySpec(v) ? { ...v, env: v.env ?? envNameFor(key) } : withEnvNames(v, key);
  }
  return out;
}

export const SCHEMA: SchemaNode = withEnvNames(RAW_SCHEMA, '');

/** Every leaf key, in schema order, with its spec. */
export function schemaKeys(node: SchemaNode = SCHEMA, prefix = ''): Array<[string, KeySpec]> {
  const out: Array<[string, KeySpec]> = [];
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isKeySpec(v)) out.push([key, v]);
    else out.push(...schemaKeys(v, key));
  }
  return out;
}

export function specFor(key: string): KeySpec | undefined {
  let node: KeySpec | SchemaNode | undefined = SCHEMA;
  for (const part of key.split('.')) {
    if (!node || isKeySpec(node) || !Object.prototype.hasOwnProperty.call(node, part)) return undefined;
    node = (node as SchemaNode)[part];
  }
  return node && isKeySpec(node) ? node : undefined;
}

/** a k=v list with every value as *** (secret keys, for printing) */
export function redactKeyValueList(s: string): string {
  return s
    .split(',')
    .map((item) => {
      const eq = item.indexOf('=');
      return eq > 0 ? `${item.slice(0, eq)}=***` : item.trim() ? '***' : item;
    })
    .join(',');
}

/** Parses a k=v,k2=v2 list (OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS syntax, values
 * percent-decoded). Throws an Error saying what is wrong. */
export function parseKeyValueList(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const items = s.split(',');
  for (let i = 0; i < items.length; i++) {
    const item = items[i].trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    // the item itself is not quoted: it may be a secret (a token in a header)
    if (eq <= 0) throw new Error(`item ${i + 1} of the list is not key=value`);
    const k = item.slice(0, eq).trim();
    let v = item.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      throw new Error(`the value of "${k}" is not valid percent-encoding`);
    }
    out[k] = v;
  }
  return out;
}
