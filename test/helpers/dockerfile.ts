// The Dockerfile and .dockerignore, read with the parsers of Docker's own tooling (dockerfile-ast, the VS Code
// Docker language server's parser; @balena/dockerignore, Docker's matching rules): stages, their
// instructions, and the build context Docker would send.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import dockerignore from '@balena/dockerignore';
import { DockerfileParser, type Copy, type Env, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { ROOT } from './deploy';
import { tool } from './tools';

export const DOCKERFILE = path.join(ROOT, 'Dockerfile');

export interface Stage {
  name: string;
  /** the FROM image with ARGs expanded */
  image: string;
  instructions: Instruction[];
}

export interface CopyStep {
  from?: string;
  sources: string[];
  dest: string;
}

export function readStages(file = DOCKERFILE): Stage[] {
  const df = DockerfileParser.parse(fs.readFileSync(file, 'utf8'));
  const args = Object.fromEntries(
    df.getInitialARGs().flatMap((a) => a.getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as const)),
  );
  const stages: Stage[] = [];
  for (const i of df.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const [image, , name] = (i.getArgumentsContent() ?? '').split(/\s+/);
      stages.push({
        name: name ?? String(stages.length),
        image: image.replace(/\$\{(\w+)\}/g, (_, v: string) => args[v] ?? ''),
        instructions: [],
      });
    } else if (stages.length) stages.at(-1)!.instructions.push(i);
  }
  return stages;
}

export function stageNamed(stages: Stage[], name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage ${name} (${stages.map((x) => x.name).join(', ')})`);
  return s;
}

const of = (s: Stage, keyword: string) => s.instructions.filter((i) => i.getKeyword() === keyword);

/** the shell commands of a stage's RUN instructions, line continuations joined */
export function runCommands(s: Stage): string[] {
  return of(s, 'RUN').map((i) => (i.getArgumentsContent() ?? '').replace(/\s+/g, ' ').trim());
}

export function copySteps(s: Stage): CopyStep[] {
  return (of(s, 'COPY') as Copy[]).map((c) => {
    const args = c.getArguments().map((a) => a.getValue());
    return { from: c.getFromFlag()?.getValue() ?? undefined, sources: args.slice(0, -1), dest: args.at(-1)! };
  });
}

export function envOf(s: Stage): Record<string, string> {
  return Object.fromEntries((of(s, 'ENV') as Env[]).flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])));
}

export function workdirOf(s: Stage): string {
  return of(s, 'WORKDIR').at(-1)?.getArgumentsContent() ?? '/';
}

export function execForm(s: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] {
  const i = of(s, keyword).at(-1) as JSONInstruction | undefined;
  return i ? i.getJSONStrings().map((j) => j.getJSONValue()) : [];
}

export function exposedPorts(s: Stage): number[] {
  return of(s, 'EXPOSE').flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).map((p) => Number(p.split('/')[0])));
}

/** the exec-form command of the stage's HEALTHCHECK */
export function healthcheckCommand(s: Stage): string[] {
  const text = of(s, 'HEALTHCHECK').at(-1)?.getArgumentsContent() ?? '';
  const cmd = text.indexOf('CMD');
  return cmd < 0 ? [] : (JSON.parse(text.slice(cmd + 3).trim()) as string[]);
}

/** the packages `apt-get install` names in a shell command */
export function aptInstalls(command: string): string[] {
  return [...command.matchAll(/apt-get install((?:\s+[^\s&|;]+)+)/g)].flatMap((m) =>
    m[1]
      .trim()
      .split(/\s+/)
      .filter((w) => !w.startsWith('-')),
  );
}

/** the repo files Docker would send as the build context: what git knows and .dockerignore lets through */
export function buildContext(): string[] {
  const files = execFileSync(tool('git'), ['-C', ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
  return contextFilter()(files);
}

/** Docker's filter for paths relative to the context root */
export function contextFilter(): (paths: string[]) => string[] {
  const ig = dockerignore().add(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
  return (paths) => ig.filter(paths);
}
