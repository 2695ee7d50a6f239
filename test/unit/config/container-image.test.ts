import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROLES } from '../../../src/app/app.ts';

/**
 * The Dockerfile and docker-compose.yml checked against each other and against the package. There is
 * no Docker engine on the machines these tests run on, so the image is never built here: what is
 * checked is that the Dockerfile copies what exists and what vw reads at run time, runs as a
 * non-root user with a health check and production dependencies only, and that every vw service in
 * compose runs that image with a command vw knows.
 */
interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function dockerfileStages(text: string): Stage[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args!) ?? [];
      stages.push({ from: from!, ...(name ? { name } : {}), instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args: args! });
  }
  return stages;
}

const stages = dockerfileStages(readFileSync('Dockerfile', 'utf8'));
const run = stages.at(-1)!;
const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
/** A COPY's sources and destination, with its --from stage if any. */
function copies(stage: Stage): Array<{ from?: string; sources: string[]; dest: string }> {
  return ops(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[]; engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, { image?: string; build?: string; command?: string[]; volumes?: string[] }> };

describe('the container image (Dockerfile; no Docker engine here, so checked, not built)', () => {
  it('builds in one stage and runs from another, on the Node major the package asks for', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const major = /(\d+)/.exec(pkg.engines.node)![1];
    for (const stage of stages) expect(stage.from).toMatch(new RegExp(`^node:${major}[.-]`));
    expect(ops(stages[0]!, 'RUN').join('\n')).toMatch(/npm run build/);
  });

  it('runs as an unprivileged user, with production dependencies only and a health check on /healthz', () => {
    const users = ops(run, 'USER');
    expect(users.length).toBe(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    const installs = ops(run, 'RUN').filter((r) => /npm (ci|install)/.test(r));
    expect(installs.length).toBe(1);
    expect(installs[0]).toMatch(/npm ci --omit=dev/);
    expect(ops(run, 'HEALTHCHECK').join(' ')).toMatch(/\/healthz/);
    expect(ops(run, 'ENTRYPOINT')).toEqual(['["node", "bin/vw.js"]']);
    // The user comes after every step that needs root.
    const lastUser = run.instructions.findIndex((i) => i.op === 'USER');
    expect(run.instructions.slice(lastUser).some((i) => i.op === 'RUN')).toBe(false);
  });

  it('copies only files that exist in the repository and that .dockerignore lets through', () => {
    for (const stage of stages) {
      for (const copy of copies(stage).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          expect(existsSync(source), source).toBe(true);
          expect(ignored.some((i) => source === i || source.startsWith(`${i}/`)), `${source} is in .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('builds what the build config compiles, and ships every file the npm package ships', () => {
    const tsconfig = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    const built = copies(stages[0]!).flatMap((c) => c.sources);
    for (const dir of tsconfig.include) expect(built).toContain(dir);
    // In the run stage, relative to its WORKDIR: the package's files (dist/ from the build stage).
    const shipped = copies(run).flatMap((c) => (c.dest === './' ? c.sources : [c.dest.replace(/^\.\//, '').replace(/\/$/, '')]));
    for (const file of pkg.files) expect(shipped, file).toContain(file);
    for (const c of copies(run).filter((c) => c.from)) expect(stages.map((s) => s.name)).toContain(c.from);
  });

  it('is what every vw service in docker-compose.yml runs, with no install at start and no source folder mounted', () => {
    const vwServices = Object.entries(compose.services).filter(([, s]) => s.image === 'vw:local');
    expect(vwServices.map(([name]) => name).sort()).toEqual([...ROLES, 'demo'].sort());
    for (const [name, service] of vwServices) {
      expect(service.build, name).toBe('.');
      expect(service.command, name).toEqual([name]);
      expect(JSON.stringify(service.command), name).not.toMatch(/npm|npx|tsx/);
      for (const volume of service.volumes ?? []) expect(volume, name).not.toMatch(/^\.:/);
    }
  });

  it('needs no dev dependency at run time: tsx and TypeScript are dev dependencies only', () => {
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(Object.keys(pkg.dependencies)).not.toContain('typescript');
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['tsx', 'typescript']));
  });
});
