#!/usr/bin/env node
/**
 * kotel command line.
 *   kotel [run] [options]        run the agent (default command)
 *   kotel probes [--json]        what can attach on this machine, and why not
 *   kotel record [options]       run the families for --duration, write one JSON report (--output)
 *   kotel check-config           print the effective configuration, or the one-line error (exit 2)
 * Exit codes: 0 ok, 1 start-up failure (e.g. a probe cannot load), 2 bad configuration or usage;
 * `kotel probes` also 3 (some enabled probes could not attach) and 4 (no probe attached).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, FAMILIES, OTEL_ENV_MAP, loadConfig, redactSecrets, schemaKeys, type KotelConfig } from './config';
import { kotelVersion } from './otel/resource';
import { parseDuration } from './record';
import { createLogger, type Logger } from './log';
import type { Agent } from './Agent';
import type { SystemdNotifier } from './host/systemd';
import type { Readiness } from './otel/prometheusEndpoint';

const EXIT_OK = 0;
const EXIT_START_FAILED = 1;
const EXIT_CONFIG = 2;
const EXIT_PROBES = { attached: EXIT_OK, partial: 3, none: 4 } as const;

interface CommonOpts {
  config?: string;
}

interface RunOpts extends CommonOpts {
  families?: string[];
  /** the schema's flags, by commander attribute name (otlpEndpoint, otlp for --no-otlp, ...) */
  [attribute: string]: unknown;
}

/** the schema keys `kotel run` has a flag for, with the flag as a commander Option */
const FLAG_OPTIONS: Array<[string, Option]> = schemaKeys().flatMap(([key, spec]) => {
  if (!spec.flag) return [];
  const o = new Option(spec.flag.name, spec.flag.help);
  if (Array.isArray(spec.format)) o.choices([...spec.format]);
  if (spec.format === 'port') o.argParser(parsePort);
  return [[key, o]];
});

/** an error the user can fix: print its message, no stack (unless debugging) */
export function isExpectedError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof ConfigError ||
    (err as { kotelUserError?: unknown }).kotelUserError === true ||
    err.name === 'BpfError' ||
    err.name === 'ConfigError'
  );
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

function reportError(err: unknown, level: string | undefined, prefix = 'kotel: '): void {
  const debugging = level === 'debug' || level === 'trace';
  const msg = oneLine(err);
  process.stderr.write(`${msg.startsWith('config error') ? '' : prefix}${msg}\n`);
  if (err instanceof Error && err.stack && (debugging || !isExpectedError(err))) {
    // unexpected errors keep their stack: they are bugs
    process.stderr.write(err.stack + '\n');
  }
}

function parsePort(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return Number(v);
}

function parseFamilies(v: string): string[] {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError(`give at least one family (${FAMILIES.join(', ')})`);
  for (const f of list) {
    if (!(FAMILIES as readonly string[]).includes(f)) {
      throw new InvalidArgumentError(`unknown family "${f}" (known: ${FAMILIES.join(', ')})`);
    }
  }
  return list;
}

function parseRecordDuration(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError('give a duration such as 60s, 2m, 500ms or 1h');
  return ms;
}

/** command-line options → config keys (only what was given) */
export function flagsFromOptions(o: RunOpts): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const [key, option] of FLAG_OPTIONS) {
    const v = o[option.attributeName()];
    // a --no-x flag is true unless given
    if (option.negate ? v === false : v !== undefined) flags[key] = v;
  }
  if (o.families !== undefined) {
    for (const f of FAMILIES) flags[`families.${f}.enabled`] = o.families.includes(f);
  }
  return flags;
}

function load(opts: RunOpts): KotelConfig {
  return loadConfig({ file: opts.config, flags: flagsFromOptions(opts) });
}

function configOption(): Option {
  return new Option('-c, --config <path>', 'config file (YAML or JSON)').env('KOTEL_CONFIG');
}

function addRunOptions(cmd: Command): Command {
  cmd.addOption(configOption());
  for (const [, option] of FLAG_OPTIONS) cmd.addOption(option);
  return cmd.option('--families <list>', `probe families to enable, comma-separated (${FAMILIES.join(', ')})`, parseFamilies);
}

async function runAgent(opts: RunOpts): Promise<void> {
  let config: KotelConfig;
  try {
    config = load(opts);
  } catch (err) {
    reportError(err, opts.logLevel as string | undefined);
    process.exit(EXIT_CONFIG);
  }
  const logger = createLogger(config.log.level);
  // loaded lazily: `check-config` and `--help` must not need the native addon
  const { Agent } = await import('./Agent');
  const { SystemdNotifier: Notifier } = await import('./host/systemd');
  let notifier: SystemdNotifier | undefined;
  try {
    notifier = Notifier.fromEnv(logger);
  } catch (err) {
    reportError(err, config.log.level);
    process.exit(EXIT_CONFIG);
  }
  const agent = new Agent(config, logger);
  if (notifier) followReadiness(agent, notifier, config);

  // the agent's own timers are unref()-ed: this keeps the process alive until a signal
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without a clean shutdown`);
      process.exit(EXIT_START_FAILED);
    }
    stopping = true;
    logger.info(`${signal}: shutting down`);
    // the final export may take up to otlp.timeout
    notifier?.stopping(`${signal}: final export, detaching the programs`, config.otlp.timeout + 10_000);
    agent.shutdown().then(
      () => {
        clearInterval(keepAlive);
        process.exit(EXIT_OK);
      },
      (err) => {
        logger.error(`shutdown failed: ${oneLine(err)}`);
        process.exit(EXIT_START_FAILED);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    await agent.start();
  } catch (err) {
    if (stopping) return; // a signal during start-up: shutdown is under way
    logger.flush?.();
    reportError(err, config.log.level);
    notifier?.status(`start-up failed: ${oneLine(err)}`);
    await agent.shutdown().catch(() => undefined);
    process.exit(EXIT_START_FAILED);
  }
}

/** READY=1 once the agent is ready (/readyz's notion), STATUS= at each change of what it says; the start-up
 * may wait for the first OTLP export, a metrics.interval away: EXTEND_TIMEOUT_USEC covers it */
function followReadiness(agent: Agent, notifier: SystemdNotifier, config: KotelConfig): void {
  const extendMs = config.metrics.interval + config.otlp.timeout + 30_000;
  const report = (state: Readiness) => {
    if (state.ready) notifier.ready(state.detail);
    else notifier.status(state.detail, extendMs);
  };
  report(agent.readiness.state());
  agent.readiness.onChange(report);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** rows → aligned text table */
export function formatTable(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : pad(v, widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('kotel')
    .description('eBPF → OpenTelemetry exporter agent')
    .version(kotelVersion())
    // usage errors as one line, the hint on it (commander's showHelpAfterError() would add a second)
    .configureOutput({ outputError: (str, write) => write(`kotel: ${str.trim().replace(/^error: /, '')} (run kotel --help for usage)\n`) })
    .exitOverride((err) => {
      // commander's usage errors: exit 2 like a config error; --help / --version: 0
      process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_CONFIG);
    });

  addRunOptions(program.command('run', { isDefault: true }).description('run the agent (default)')).action(async (opts: RunOpts) =>
    runAgent(opts),
  );

  addRunOptions(
    program
      .command('record')
      .description(
        'run the enabled families for --duration without exporters and write one JSON report (agent/report.schema.json): ' +
          "machine, kernel, config, each family's metrics with histogram percentiles, drops; a progress line on a terminal",
      ),
  )
    .option('--duration <time>', 'how long to record: 60s, 2m, 500ms, 1h or seconds', parseRecordDuration, 60_000)
    .option('-o, --output <file>', "the report's file ('-': standard output)", '-')
    .action(async (opts: RunOpts & { duration: number; output: string }) => {
      let config: KotelConfig;
      try {
        // the report is the output: no OTLP, no Prometheus listener, no console report
        config = loadConfig({
          file: opts.config,
          flags: { ...flagsFromOptions(opts), 'otlp.enabled': false, 'prometheus.enabled': false, 'console.enabled': false },
        });
      } catch (err) {
        reportError(err, opts.logLevel as string | undefined);
        process.exit(EXIT_CONFIG);
      }
      const logger = createLogger(config.log.level);
      try {
        const { record } = await import('./record');
        await record(config, logger, { durationMs: opts.duration, output: opts.output });
        process.exit(EXIT_OK);
      } catch (err) {
        logger.flush?.();
        reportError(err, config.log.level);
        process.exit(EXIT_START_FAILED);
      }
    });

  program
    .command('probes')
    .description(
      'list the probes: attached / unavailable here (with the reason) / absent (no RDMA, its module not loaded) / disabled; ' +
        'exit 0 when every enabled probe attached (absent ones aside), 3 when some could not, 4 when none did, 2 on a bad config',
    )
    .addOption(configOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: CommonOpts & { json?: boolean }) => {
      let config: KotelConfig;
      try {
        config = loadConfig({ file: opts.config });
      } catch (err) {
        reportError(err, undefined);
        process.exit(EXIT_CONFIG);
      }
      const logger: Logger = createLogger(config.log.level);
      try {
        const { inspectProbes, probesVerdict } = await import('./probes/inspect');
        const rows = await inspectProbes(config, logger);
        if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        else
          process.stdout.write(
            formatTable(rows as unknown as Array<Record<string, unknown>>, ['family', 'probe', 'status', 'hook', 'program', 'reason']),
          );
        process.exitCode = EXIT_PROBES[probesVerdict(rows)];
      } catch (err) {
        reportError(err, config.log.level);
        process.exit(EXIT_START_FAILED);
      }
    });

  program
    .command('check-config')
    .description(
      'validate the configuration (defaults < file < OTEL_* < KOTEL_* variables) and print the effective values as JSON; ' +
        'exit 2 with a one-line error if it is invalid. Keys: see the configuration table in the README.',
    )
    .addOption(configOption())
    .addHelpText('after', () => {
      const keys = schemaKeys();
      const w = Math.max(...keys.map(([k]) => k.length));
      return (
        '\nKeys (environment variable, default):\n' +
        keys.map(([k, spec]) => `  ${k.padEnd(w)}  ${spec.env}  (${JSON.stringify(spec.default)})`).join('\n') +
        '\nStandard variables honoured: ' +
        OTEL_ENV_MAP.map((m) => m.env).join(', ') +
        '\n'
      );
    })
    .action((opts: CommonOpts) => {
      try {
        const config = loadConfig({ file: opts.config });
        process.stdout.write(JSON.stringify(redactSecrets(config), null, 2) + '\n');
      } catch (err) {
        reportError(err, undefined);
        process.exit(EXIT_CONFIG);
      }
    });

  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err) => {
      reportError(err, undefined);
      process.exit(EXIT_START_FAILED);
    });
}
