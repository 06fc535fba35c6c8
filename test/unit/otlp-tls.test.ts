// OTLP over TLS (gRPC and HTTPS) against the real receiver with a CA and certificates made here with
// openssl: the CA configured (otlp.tls.ca) → delivered; no CA → a failed export, one warning naming the
// certificate problem; a receiver requiring client certificates (mTLS) refuses a client without one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, ConfigError } from '../../agent/src/config';
import { createTelemetry } from '../../agent/src/otel/telemetry';
import { captureLogger } from '../helpers/captureLogger';
import { startOtlpReceiver, type OtlpReceiver, type OtlpReceiverOptions } from '../helpers/otlpReceiver';
import { stubFactory } from '../helpers/stubProducer';
import { tool } from '../helpers/tools';

let dir = '';
const pem = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync(tool('openssl'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** a certificate for `cn` signed by the test CA, with subjectAltName `san` */
function signed(name: string, cn: string, ext: string): void {
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
  fs.writeFileSync(pem(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  );
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-tls-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=kotel test CA',
    '-days',
    '1',
  );
  signed('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed('client', 'kotel', 'extendedKeyUsage=clientAuth\n');
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function receiverTls(mtls: boolean): OtlpReceiverOptions['tls'] {
  return {
    cert: fs.readFileSync(pem('server.pem')),
    key: fs.readFileSync(pem('server.key')),
    clientCa: mtls ? fs.readFileSync(pem('ca.pem')) : undefined,
  };
}

/** one metrics export to the receiver; what happened */
async function exportOnce(rx: OtlpReceiver, protocol: 'grpc' | 'http/protobuf', tls: Record<string, string>) {
  const { logger, lines } = captureLogger('info');
  const results: boolean[] = [];
  const port = protocol === 'grpc' ? rx.grpcPort : rx.httpPort;
  const tel = createTelemetry(
    loadConfig({
      env: {},
      flags: {
        'prometheus.enabled': false,
        'console.enabled': false,
        'otlp.traces': false,
        'metrics.interval': 600_000,
        'otlp.timeout': 3000,
        'otlp.protocol': protocol,
        'otlp.endpoint': `https://127.0.0.1:${port}`,
        ...tls,
      },
    }),
    { producerFor: stubFactory().producerFor, logger, onExportResult: (_s, ok) => results.push(ok) },
  );
  try {
    await tel.forceFlush();
  } finally {
    await tel.shutdown();
  }
  // forceFlush and shutdown each export once
  return {
    ok: results.length > 0 && results.every(Boolean),
    failed: results.length > 0 && !results.some(Boolean),
    lines,
    received: rx.metrics().length,
  };
}

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  test(`TLS (${protocol}): delivered with otlp.tls.ca; without it a failed export and one warning naming the certificate problem`, async () => {
    const rx = await startOtlpReceiver({ tls: receiverTls(false) });
    try {
      const ok = await exportOnce(rx, protocol, { 'otlp.tls.ca': pem('ca.pem') });
      assert.ok(ok.ok, JSON.stringify(ok.lines));
      assert.ok(ok.received > 0, 'metrics received over TLS');

      rx.reset();
      const bad = await exportOnce(rx, protocol, {});
      assert.ok(bad.failed);
      assert.equal(bad.received, 0);
      const warns = bad.lines.filter((l) => l.level === 'warn');
      assert.equal(warns.length, 1, JSON.stringify(bad.lines));
      assert.match(warns[0].msg, /certificate/i);
      assert.match(warns[0].msg, /otlp\.tls\.ca/);
      console.log(`# ${protocol}: ${warns[0].msg}`);
    } finally {
      await rx.close();
    }
  });

  test(`mTLS (${protocol}): a client without a certificate is refused, one with otlp.tls.cert/key is let in`, async () => {
    const rx = await startOtlpReceiver({ tls: receiverTls(true) });
    try {
      const anonymous = await exportOnce(rx, protocol, { 'otlp.tls.ca': pem('ca.pem') });
      assert.ok(anonymous.failed, JSON.stringify(anonymous.lines));
      assert.equal(anonymous.received, 0);
      console.log(`# ${protocol}: ${anonymous.lines.find((l) => l.level === 'warn')?.msg}`);

      const client = await exportOnce(rx, protocol, {
        'otlp.tls.ca': pem('ca.pem'),
        'otlp.tls.cert': pem('client.pem'),
        'otlp.tls.key': pem('client.key'),
      });
      assert.ok(client.ok, JSON.stringify(client.lines));
      assert.ok(client.received > 0);
    } finally {
      await rx.close();
    }
  });
}

test('a missing certificate file: one line naming the key and where it came from', () => {
  const missing = path.join(os.tmpdir(), 'kotel-no-such-ca.pem');
  assert.throws(
    () => loadConfig({ env: { OTEL_EXPORTER_OTLP_CERTIFICATE: missing } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        `config error: otlp.tls.ca = "${missing}" (from OTEL_EXPORTER_OTLP_CERTIFICATE): must be a readable file (no such file)`,
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'otlp.tls.cert': __filename } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^config error: otlp\.tls\.cert is set .* but otlp\.tls\.key is not/.test(e.message) &&
      !e.message.includes('\n'),
  );
});
