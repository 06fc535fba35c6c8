// Unix-socket family: request/response turns on connected Unix stream sockets per cgroup, aggregated in the
// kernel (bpf/unix.bpf.c, ABI in bpf/unix.h) and read at collection time.
import { UNIX } from './semconv';
import type { Rung } from '../../native';
import type { FamilyFolder, Family } from '../types';
import { hasTracepoint } from '../../host/tracepoints';
import { rawTracepointLadder } from '../ladder';
import { unixConfig } from './config';

/** turns: 1 us to 64 s, finer from 10 us to 1 s (local services answer in tens of us to ms) */
const TURN_CLASSIC = { from: 1e-6, to: 64, fine: [1e-5, 1] as [number, number] };

/** fexit at the Unix stream function (only Unix stream sockets pay), else the tracepoint every socket's
 * send or receive fires (6.3+) */
function ladder(fn: 'sendmsg' | 'recvmsg', tracepoint: 'sock_send_length' | 'sock_recv_length'): Rung[] {
  return [
    { program: `unix_stream_${fn}_exit`, kind: 'fexit', target: `unix_stream_${fn}` },
    ...(hasTracepoint(tracepoint) === false ? [] : rawTracepointLadder(tracepoint)),
  ];
}

export const unixFamily: Family = {
  name: 'unix',
  enabled: (config) => config.families.unix.enabled,
  openOptions: (config) => {
    const unix = config.families.unix;
    return {
      rodata: {},
      maxEntries: { unix_request_hist: unix.maxCgroupKeys, unix_response_hist: unix.maxCgroupKeys, unix_socks: unix.maxSockets },
      ladders: {
        unix_stream_recvmsg: ladder('recvmsg', 'sock_recv_length'),
        unix_stream_sendmsg: ladder('sendmsg', 'sock_send_length'),
      },
    };
  },
  maps: {},
  dropsMap: 'unix_drops',
  kernelMetrics: [
    { type: 'histogram', map: 'unix_request_hist', metric: UNIX.requestDuration, classic: TURN_CLASSIC },
    { type: 'histogram', map: 'unix_response_hist', metric: UNIX.responseDuration, classic: TURN_CLASSIC },
  ],
};

/** the unix folder for the registry */
export const folder = { config: unixConfig, families: [unixFamily] } satisfies FamilyFolder;
