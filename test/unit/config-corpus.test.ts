// A corpus of bad config files and flags (environment values: config-corpus-env.test.ts), each run through the real CLI as a child
// process (check-config, and run where start-up goes another way: commander's flags): exactly one line on
// stderr naming the key, flag or variable at fault and what to do, a non-zero exit, no stack trace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { check, corpusDir, MS, runAll, type Case } from '../helpers/configCorpus';
import { familyNames } from '../../agent/src/probes/registry';

const dir = corpusDir();
function file(name: string, text: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const FILES: Case[] = [
  {
    what: 'string for a duration',
    args: check(file('a.yaml', 'otlp:\n  timeout: "abc"\n')),
    names: /otlp\.timeout = "abc" \(from .*a\.yaml\)/,
    fix: MS,
  },
  { what: 'negative interval', args: check(file('b.yaml', 'metrics:\n  interval: -5\n')), names: /metrics\.interval = -5/, fix: MS },
  { what: 'interval below the minimum', args: check(file('c.yaml', 'console:\n  interval: 1\n')), names: /console\.interval = 1/, fix: MS },
  { what: 'huge number', args: check(file('d.yaml', 'otlp:\n  timeout: 1e400\n')), names: /otlp\.timeout = Infinity/, fix: MS },
  {
    what: 'fractional integer',
    args: check(file('e.yaml', 'families:\n  tcp:\n    maxSockets: 1.5\n')),
    names: /families\.tcp\.maxSockets = 1\.5/,
    fix: /must be an integer >= \d+/,
  },
  {
    what: 'port out of range',
    args: check(file('f.yaml', 'prometheus:\n  port: 70000\n')),
    names: /prometheus\.port = 70000/,
    fix: /must be a port number 0-65535/,
  },
  {
    what: 'port as a word',
    args: check(file('g.yaml', 'prometheus:\n  port: http\n')),
    names: /prometheus\.port = "http"/,
    fix: /must be a port number 0-65535/,
  },
  {
    what: 'string for a bool (JSON)',
    args: check(file('h.json', '{"otlp": {"enabled": "maybe"}}')),
    names: /otlp\.enabled = "maybe" \(from .*h\.json\)/,
    fix: /must be true or false/,
  },
  {
    what: 'number for a string',
    args: check(file('i.yaml', 'otlp:\n  endpoint: 5\n')),
    names: /otlp\.endpoint = 5/,
    fix: /must be a string/,
  },
  {
    what: 'bad enum value',
    args: check(file('j.yaml', 'otlp:\n  protocol: udp\n')),
    names: /otlp\.protocol = "udp"/,
    fix: /must be one of grpc, http\/protobuf/,
  },
  {
    what: 'bad log level',
    args: check(file('k.yaml', 'log:\n  level: loud\n')),
    names: /log\.level = "loud"/,
    fix: /must be one of fatal, error, warn, info, debug, trace/,
  },
  {
    what: 'unknown key, near a known one',
    args: check(file('l.yaml', 'otlp:\n  endpiont: x:4317\n')),
    names: /unknown key "otlp\.endpiont"/,
    fix: /did you mean "otlp\.endpoint"/,
  },
  {
    what: 'unknown top-level key',
    args: check(file('m.yaml', 'foo: 1\n')),
    names: /unknown key "foo"/,
    fix: /not in the schema .*check-config --help/,
  },
  {
    what: 'value where a section goes',
    args: check(file('n.yaml', 'families:\n  tcp: true\n')),
    names: /families\.tcp in .*n\.yaml/,
    fix: /must be a mapping of keys/,
  },
  {
    what: 'a list at the top level',
    args: check(file('o.yaml', '- a\n- b\n')),
    names: /the top level in .*o\.yaml/,
    fix: /must be a mapping of keys/,
  },
  {
    what: 'endpoint that is no URL',
    args: check(file('p.yaml', 'otlp:\n  endpoint: "http://[::1"\n')),
    names: /otlp\.endpoint = "http:\/\/\[::1"/,
    fix: /must be host:port or a URL like http:\/\/host:4318/,
  },
  {
    what: 'endpoint port out of range',
    args: check(file('q.yaml', 'otlp:\n  endpoint: "collector:99999"\n')),
    names: /otlp\.endpoint = "collector:99999"/,
    fix: /must be host:port or a URL/,
  },
  {
    what: 'endpoint with a scheme OTLP does not speak',
    args: check(file('r.yaml', 'otlp:\n  metricsEndpoint: "ftp://collector:4317"\n')),
    names: /otlp\.metricsEndpoint = "ftp:\/\/collector:4317"/,
    fix: /\(http:\/\/ or https:\/\/\)/,
  },
  {
    what: 'headers without =',
    args: check(file('s.yaml', 'otlp:\n  headers: "authorization"\n')),
    names: /otlp\.headers = "\*\*\*"/,
    fix: /must be k=v,k2=v2/,
  },
  {
    what: 'headers as a mapping',
    args: check(file('t.yaml', 'otlp:\n  headers: {authorization: secret}\n')),
    names: /otlp\.headers = "\*\*\*"/,
    fix: /must be a string of k=v,k2=v2/,
  },
  {
    what: 'resource attributes without a key',
    args: check(file('u.yaml', 'resource:\n  attributes: "=x"\n')),
    names: /resource\.attributes = "=x"/,
    fix: /must be k=v,k2=v2/,
  },
  { what: 'missing file', args: check(path.join(dir, 'nope.yaml')), names: /config file .*nope\.yaml/, fix: /no such file/ },
  { what: 'a directory', args: check(dir), names: /config file .*kotel-corpus-/, fix: /a directory, not a file/ },
  {
    what: 'unreadable file',
    args: check(file('v.yaml', 'otlp:\n  enabled: true\n')),
    nobody: true,
    names: /config file .*v\.yaml/,
    fix: /permission denied/,
  },
  {
    what: 'invalid YAML',
    args: check(file('w.yaml', 'otlp: [1, 2\n')),
    names: /cannot parse config file .*w\.yaml/,
    fix: /at line \d+, column \d+/,
  },
  {
    what: 'tab-indented YAML',
    args: check(file('x.yaml', 'otlp:\n\tenabled: true\n')),
    names: /cannot parse config file .*x\.yaml/,
    fix: /line \d+/,
  },
  {
    what: 'binary garbage',
    args: check(file('y.yaml', Buffer.from([0xff, 0xfe, 0, 0x62, 0x61, 0x64]))),
    names: /the top level in .*y\.yaml/,
    fix: /must be a mapping of keys/,
  },
  // V8's message quotes the file, across lines and up to a secret: only the reason and where
  {
    what: 'invalid JSON over lines',
    args: check(file('z.json', '{\n"otlp": {\n "headers": "authorization=secret", }}')),
    names: /cannot parse config file .*z\.json/,
    fix: /in JSON at line 3, column 37/,
  },
  {
    what: 'not JSON at all',
    args: check(file('zz.json', 'otlp:\n  headers: authorization=secret\n')),
    names: /cannot parse config file .*zz\.json/,
    fix: /\(not valid JSON\)$/,
  },
  {
    what: 'unknown extension',
    args: check(file('kotel.toml', 'x = 1\n')),
    names: /cannot parse config file .*kotel\.toml/,
    fix: /use \.yaml, \.yml or \.json/,
  },
];

const FLAGS: Case[] = [
  {
    what: 'port out of range',
    args: ['run', '--prometheus-port', '99999'],
    names: /--prometheus-port/,
    fix: /must be a port number 0-65535/,
  },
  { what: 'port as a word', args: ['run', '--prometheus-port', 'abc'], names: /--prometheus-port/, fix: /must be a port number 0-65535/ },
  {
    what: 'unknown family',
    args: ['run', '--families', 'tcp,foo'],
    names: /--families/,
    fix: new RegExp(`unknown family "foo" \\(known: ${familyNames.join(', ')}\\)`),
  },
  {
    what: 'no family',
    args: ['run', '--families', ','],
    names: /--families/,
    fix: new RegExp(`give at least one family \\(${familyNames.join(', ')}\\)`),
  },
  {
    what: 'bad protocol',
    args: ['run', '--otlp-protocol', 'udp'],
    names: /--otlp-protocol/,
    fix: /Allowed choices are grpc, http\/protobuf/,
  },
  { what: 'bad log level', args: ['run', '--log-level', 'loud'], names: /--log-level/, fix: /Allowed choices are fatal, error/ },
  {
    what: 'bad endpoint',
    args: ['run', '--otlp-endpoint', 'http://[::1'],
    names: /otlp\.endpoint = "http:\/\/\[::1" \(from --otlp-endpoint\)/,
    fix: /must be host:port or a URL/,
  },
  { what: 'unknown flag', args: ['run', '--bogus'], names: /unknown option '--bogus'/, fix: /run kotel --help for usage/ },
  {
    what: 'flag of another command',
    args: ['check-config', '--otlp-endpoint', 'x:4317'],
    names: /unknown option '--otlp-endpoint'/,
    fix: /run kotel --help for usage/,
  },
  { what: 'missing argument', args: ['run', '--config'], names: /--config <path>' argument missing/, fix: /run kotel --help for usage/ },
  {
    what: 'bad file behind a flag of run',
    args: ['run', '--config', path.join(dir, 'nope.yaml')],
    names: /config file .*nope\.yaml/,
    fix: /no such file/,
  },
];

test('bad config files: one line naming the key or file and the fix, exit 2', async () => {
  fs.chmodSync(path.join(dir, 'v.yaml'), 0o600); // root's; nobody cannot read it
  fs.chmodSync(dir, 0o755);
  await runAll(FILES);
});

test('bad flags: one line naming the flag and the fix, exit 2', async () => {
  await runAll(FLAGS);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
