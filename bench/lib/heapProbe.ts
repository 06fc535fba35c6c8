// Preloaded into the agent by the soak run (node --require): appends the process's memoryUsage() as a JSON
// line to $KOTEL_SOAK_HEAP_FILE every $KOTEL_SOAK_HEAP_MS, so the heap can be read from outside. Bench only.
import * as fs from 'node:fs';

const file = process.env.KOTEL_SOAK_HEAP_FILE;
const everyMs = Number(process.env.KOTEL_SOAK_HEAP_MS ?? 5000);
if (file) {
  setInterval(() => {
    const m = process.memoryUsage();
    fs.appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
  }, everyMs).unref();
}
