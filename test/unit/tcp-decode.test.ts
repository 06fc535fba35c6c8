// TCP close-event records written by the host C compiler from bpf/tcp.h, decoded by the agent with the
// field offsets the real tcp.bpf.o reports from its BTF: the two sides of the ABI must agree. Opening the
// object loads it (no program attached), which needs root.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { runC } from '../helpers/cbuild';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { BpfObject } from '../../agent/src/native';
import { formatAddress, makeCloseDecoder } from '../../agent/src/probes/tcp/connectionSpans';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;

/** two records from C: an IPv4 client connection and a failed IPv6 connect */
function recordsFromC(): Buffer {
  return runC(`
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "tcp.h"
int main(void) {
  struct tcp_close_event e[2];
  memset(e, 0, sizeof(e));
  e[0].start_ns = 1000000000ULL; e[0].end_ns = 3500000000ULL; e[0].cgroup_id = 4242;
  e[0].bytes_acked = 20002; e[0].bytes_received = 2001; e[0].rtt_sum_us = 300; e[0].rtt_count = 3;
  e[0].rtt_min_us = 50; e[0].rtt_max_us = 150; e[0].retransmits = 2; e[0].open_kind = TCP_OPEN_ACTIVE;
  e[0].old_state = 8; e[0].pid = 777; strcpy((char *)e[0].comm, "curl");
  inet_pton(AF_INET, "10.1.2.3", e[0].tuple.saddr); inet_pton(AF_INET, "10.9.8.7", e[0].tuple.daddr);
  e[0].tuple.sport = 40000; e[0].tuple.dport = 443; e[0].tuple.family = AF_INET;
  e[1].start_ns = 5; e[1].end_ns = 7; e[1].old_state = 2; e[1].sk_err = 111; e[1].open_kind = TCP_OPEN_ACTIVE;
  inet_pton(AF_INET6, "fd00::1", e[1].tuple.saddr); inet_pton(AF_INET6, "2001:db8:0:0:1::2", e[1].tuple.daddr);
  e[1].tuple.sport = 1; e[1].tuple.dport = 2; e[1].tuple.family = AF_INET6;
  fwrite(e, sizeof(e), 1, stdout);
  return 0;
}`);
}

test('IPv6 addresses are formatted per RFC 5952', () => {
  assert.equal(formatAddress(Buffer.from('20010db8000000000001000000000002', 'hex'), 10), '2001:db8::1:0:0:2');
  assert.equal(formatAddress(Buffer.from('00000000000000000000000000000001', 'hex'), 10), '::1');
  assert.equal(formatAddress(Buffer.from('7f000001', 'hex'), 2), '127.0.0.1');
});

test('close events from C decode with the BTF layout of tcp.bpf.o', { skip: notRoot }, () => {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', 'tcp.bpf.o'), { ladders: {} });
  try {
    const layout = object.layout('tcp_close_event');
    const buf = recordsFromC();
    assert.equal(buf.length, 2 * layout.size, 'C sizeof matches the BTF size');
    const decode = makeCloseDecoder(layout, new CgroupResolver(undefined));
    const a = decode(buf, 0);
    assert.equal(a.startNs, 1_000_000_000n);
    assert.equal(a.endNs, 3_500_000_000n);
    assert.equal(a.failed, false);
    assert.equal(a.active, true);
    assert.deepEqual(a.attributes, {
      'cgroup.id': 4242,
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'network.local.address': '10.1.2.3',
      'network.local.port': 40000,
      'network.peer.address': '10.9.8.7',
      'network.peer.port': 443,
      'tcp.open': 'active',
      'tcp.state.before_close': 'close_wait',
      'tcp.bytes_acked': 20002,
      'tcp.bytes_received': 2001,
      'tcp.retransmits': 2,
      'tcp.rtt.min': 50e-6,
      'tcp.rtt.avg': 100e-6,
      'tcp.rtt.max': 150e-6,
      'process.pid': 777,
      'process.executable.name': 'curl',
    });
    const b = decode(buf, layout.size);
    assert.equal(b.failed, true);
    assert.equal(b.errorType, 'ECONNREFUSED');
    assert.equal(b.attributes['network.type'], 'ipv6');
    assert.equal(b.attributes['network.local.address'], 'fd00::1');
    assert.equal(b.attributes['network.peer.address'], '2001:db8::1:0:0:2');
    assert.equal(b.attributes['tcp.rtt.avg'], undefined, 'no RTT without samples');
    assert.equal(b.attributes['process.pid'], undefined);
  } finally {
    object.close();
  }
});
