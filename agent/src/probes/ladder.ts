import type { Rung } from '../native';

/** The tracepoint ladder for a probe whose programs are named <probe>_btf, <probe>_raw and <probe>_tp:
 * tp_btf (cheapest, needs BPF_PROG_TYPE_TRACING) → raw_tp → classic tracepoint (needs tracefs). */
export function tracepointLadder(probe: string): Rung[] {
  return [
    { program: `${probe}_btf`, kind: 'tp_btf' },
    { program: `${probe}_raw`, kind: 'raw_tp' },
    { program: `${probe}_tp`, kind: 'tp' },
  ];
}

/** tp_btf → raw_tp, for a tracepoint whose records cannot stand in for its arguments (a classic
 * tracepoint's record has no pointer to pair events by: block_rq_*) */
export function rawTracepointLadder(probe: string): Rung[] {
  return tracepointLadder(probe).slice(0, 2);
}
