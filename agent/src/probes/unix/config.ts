// families.unix.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const unixConfig = fragment({
  enabled: {
    doc: 'Attach the Unix-socket probes: request/response latency on connected Unix stream sockets per cgroup (unix.request.duration on the connecting side, unix.response.duration on the accepting side). Off by default: it hooks every send and receive on Unix stream sockets (fexit on unix_stream_sendmsg / unix_stream_recvmsg), or, on kernels without BPF trampolines, on every socket (the sock_send_length / sock_recv_length tracepoints, 6.3+).',
    format: 'bool',
    default: false,
  },
  maxCgroupKeys: {
    doc: 'Distinct cgroups the Unix-socket histograms are kept for (size of each per-cgroup map).',
    format: 'int',
    min: 1,
    default: 10240,
  },
  maxSockets: {
    doc: 'Unix stream sockets whose turn state is kept at once (an LRU hash: past it the least recently used socket is forgotten and its turn under way lost).',
    format: 'int',
    min: 64,
    default: 16384,
  },
});
