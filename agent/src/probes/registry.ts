// Every probe family kotel ships. Adding one is a line here.
import { locksFamily } from './locks';
import { rdmaFamily } from './rdma';
import { rdmaCmFamily } from './rdma/cm';
import { rdmaKernelFamily } from './rdma/kernel';
import { schedFamily } from './sched';
import { tcpFamily } from './tcp';
import type { Family } from './types';

export const families: Family[] = [tcpFamily, schedFamily, rdmaFamily, rdmaKernelFamily, rdmaCmFamily, locksFamily];
