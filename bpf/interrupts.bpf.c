// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Interrupts family: time in hard IRQ handlers (irq_handler_entry -> irq_handler_exit) by IRQ number and
 * in softirq handlers (softirq_entry -> softirq_exit) by vector, optionally by CPU. Maps: interrupts.h.
 * The tracepoints carry integers only, so the three rungs of each ladder share one body. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "interrupts.h"

const volatile bool targ_per_cpu = false; /* kind = vector | (cpu + 1) << 16 */

KOTEL_CG_MAP(irq_hard_hist, struct kotel_hist, IRQ_MAX_KEYS);
KOTEL_CG_MAP(irq_soft_hist, struct kotel_hist, IRQ_MAX_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_start);
} irq_start SEC(".maps");

KOTEL_DROPS_MAP(irq_drops);

static __always_inline struct irq_start *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&irq_start, &zero);
}

static __always_inline void record(void *hist, __u32 vector, __u64 start, __u64 now)
{
	struct kotel_cg_key key = { .cgroup_id = 0, .kind = vector };

	if (vector >> IRQ_KIND_CPU_SHIFT) {
		kotel_count_drop(&irq_drops, KOTEL_DROP_INVALID_VALUE);
		return;
	}
	if (targ_per_cpu)
		key.kind |= (bpf_get_smp_processor_id() + 1) << IRQ_KIND_CPU_SHIFT;
	kotel_hist_add(hist, &key, now - start, &irq_drops);
}

static __always_inline int hard_entry(int irq)
{
	struct irq_start *s = this_cpu();

	if (s) {
		s->hard_ns = bpf_ktime_get_ns();
		s->hard_irq = irq;
	}
	return 0;
}

static __always_inline int hard_exit(int irq)
{
	struct irq_start *s = this_cpu();

	/* no stamp: the handler was entered before the program attached */
	if (s && s->hard_ns && s->hard_irq == (__u32)irq)
		record(&irq_hard_hist, irq, s->hard_ns, bpf_ktime_get_ns());
	if (s)
		s->hard_ns = 0;
	return 0;
}

static __always_inline int soft_entry(unsigned int vec)
{
	struct irq_start *s = this_cpu();

	if (s) {
		s->soft_ns = bpf_ktime_get_ns();
		s->soft_vec = vec;
	}
	return 0;
}

static __always_inline int soft_exit(unsigned int vec)
{
	struct irq_start *s = this_cpu();

	if (s && s->soft_ns && s->soft_vec == vec)
		record(&irq_soft_hist, vec, s->soft_ns, bpf_ktime_get_ns());
	if (s)
		s->soft_ns = 0;
	return 0;
}

KOTEL_BTF_AND_RAW(irq_handler_entry, hard_entry(irq), int irq, struct irqaction *action)
KOTEL_BTF_AND_RAW(irq_handler_exit, hard_exit(irq), int irq, struct irqaction *action, int ret)
KOTEL_BTF_AND_RAW(softirq_entry, soft_entry(vec), unsigned int vec)
KOTEL_BTF_AND_RAW(softirq_exit, soft_exit(vec), unsigned int vec)

SEC("tp/irq/irq_handler_entry")
int irq_handler_entry_tp(struct trace_event_raw_irq_handler_entry *ctx)
{
	return hard_entry(ctx->irq);
}

SEC("tp/irq/irq_handler_exit")
int irq_handler_exit_tp(struct trace_event_raw_irq_handler_exit *ctx)
{
	return hard_exit(ctx->irq);
}

SEC("tp/irq/softirq_entry")
int softirq_entry_tp(struct trace_event_raw_softirq *ctx)
{
	return soft_entry(ctx->vec);
}

SEC("tp/irq/softirq_exit")
int softirq_exit_tp(struct trace_event_raw_softirq *ctx)
{
	return soft_exit(ctx->vec);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
