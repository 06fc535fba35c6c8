// node --test reporter for test/kernels/matrix.ts: one JSON line per finished test (file, name, nesting,
// suite or test, pass, duration, first line of the error, wall-clock time), read back on the host.
interface TestEvent {
  type: string;
  data: {
    name: string;
    nesting: number;
    file?: string;
    skip?: unknown;
    todo?: unknown;
    details?: { duration_ms?: number; type?: string; error?: { message?: string; cause?: unknown } };
  };
}

function firstLine(err: { message?: string; cause?: unknown } | undefined): string {
  const cause = err?.cause as { message?: string } | string | undefined;
  const msg = typeof cause === 'string' ? cause : (cause?.message ?? err?.message ?? '');
  return (
    String(msg)
      .split('\n')
      .find((l) => l.trim()) ?? ''
  );
}

async function* matrixReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  yield JSON.stringify({ start: Date.now() }) + '\n';
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data;
    yield (
      JSON.stringify({
        file: d.file ?? '',
        name: d.name,
        nesting: d.nesting,
        suite: d.details?.type === 'suite',
        pass: ev.type === 'test:pass',
        skip: Boolean(d.skip || d.todo),
        ms: d.details?.duration_ms ?? 0,
        error: ev.type === 'test:fail' ? firstLine(d.details?.error) : undefined,
        at: Date.now(),
      }) + '\n'
    );
  }
}

export = matrixReporter;
