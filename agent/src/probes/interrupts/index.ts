// Interrupts family: time in hard IRQ handlers by IRQ number and in softirq handlers by type, optionally by
// CPU, aggregated in the kernel (bpf/interrupts.bpf.c, ABI in bpf/interrupts.h) and read at collection
// time. An interrupt belongs to no task: these metrics have no cgroup attributes.
import { INTERRUPTS } from './semconv';
import { tracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { irqAttributesOf, softirqAttributes } from './vectors';
import { interruptsConfig } from './config';

/** classic buckets: 125 ns to 1 s, finer from 1 us to 1 ms (a handler takes microseconds) */
const IRQ_CLASSIC = { from: 1.25e-7, to: 1, fine: [1e-6, 0.001] as [number, number] };
/** 250 ns to 16 s, finer from 1 us to 10 ms (a softirq run is bounded near 2 ms before ksoftirqd takes over) */
const SOFTIRQ_CLASSIC = { from: 2.5e-7, to: 16, fine: [1e-6, 0.01] as [number, number] };

export const interruptsFamily: Family = {
  name: 'interrupts',
  enabled: (config) => config.families.interrupts.enabled,
  openOptions: (config) => {
    const interrupts = config.families.interrupts;
    return {
      rodata: { targ_per_cpu: interrupts.perCpu },
      maxEntries: { irq_hard_hist: interrupts.maxKeys, irq_soft_hist: interrupts.maxKeys },
      // each exit before its entry: a stamp always finds its exit program attached
      ladders: {
        irq_handler_exit: tracepointLadder('irq_handler_exit'),
        irq_handler_entry: tracepointLadder('irq_handler_entry'),
        softirq_exit: tracepointLadder('softirq_exit'),
        softirq_entry: tracepointLadder('softirq_entry'),
      },
    };
  },
  maps: {},
  dropsMap: 'irq_drops',
  kernelMetrics: [
    {
      type: 'histogram',
      map: 'irq_hard_hist',
      metric: INTERRUPTS.irqDuration,
      classic: IRQ_CLASSIC,
      perCgroup: false,
      kindAttributes: irqAttributesOf(),
    },
    {
      type: 'histogram',
      map: 'irq_soft_hist',
      metric: INTERRUPTS.softirqDuration,
      classic: SOFTIRQ_CLASSIC,
      perCgroup: false,
      kindAttributes: softirqAttributes,
    },
  ],
};

/** the interrupts folder for the registry */
export const folder = { config: interruptsConfig, families: [interruptsFamily] } satisfies FamilyFolder;
