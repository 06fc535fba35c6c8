// Looking up decoded OTLP data points the way the integration tests assert on them.
import type { DecodedPoint, startOtlpReceiver } from './otlpReceiver';

export type Receiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

/** attribute values a point must carry; undefined: the key must be absent */
export type Match = Record<string, string | number | undefined>;

/** the newest data point of a metric whose attributes include `match` */
export function latest(receiver: Receiver, name: string, match: Match): DecodedPoint | undefined {
  return receiver
    .metrics()
    .filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .sort((a, b) => Number(BigInt(a.timeUnixNano) - BigInt(b.timeUnixNano)))
    .at(-1);
}

/** waits until the newest matching point satisfies ok(); on timeout the error shows that point */
export async function waitForPoint(
  receiver: Receiver,
  name: string,
  match: Match,
  ok: (p: DecodedPoint) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<DecodedPoint> {
  try {
    return await receiver.waitFor(
      () => {
        const p = latest(receiver, name, match);
        return p && ok(p) ? p : undefined;
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    const p = latest(receiver, name, match);
    const seen = p ? `value ${p.value ?? ''} count ${p.count ?? ''} sum ${p.sum ?? ''}` : 'no such point';
    throw new Error(`${(err as Error).message}; newest ${name} ${JSON.stringify(match)}: ${seen}`, { cause: err });
  }
}

/** the bucket index an OTel explicit histogram puts v in: (b[k-1], b[k]] */
export function bucketOf(bounds: number[], v: number): number {
  const k = bounds.findIndex((b) => v <= b);
  return k < 0 ? bounds.length : k;
}
