import { readFileSync } from 'node:fs';

/**
 * Where a vw process's main thread spent a profiled window (a .cpuprofile from cpu-window.mjs or
 * node --cpu-prof): self time by area (each vw source folder, each dependency, node internals,
 * garbage collection, idle), by vw file, and inclusive by role: the outermost vw folder on the stack
 * other than the bus, timers and journal that call every role's code. With the readings handled in the window, also microseconds per reading.
 *
 *   npx tsx test/bench/profile/summarize.ts vw-123.cpuprofile [--readings N]
 */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time in the window, ms. */
  totalMs: number;
  /** Share of the window the main thread was not idle. */
  busy: number;
  areas: Array<{ area: string; share: number }>;
  files: Array<{ file: string; share: number }>;
  roles: Array<{ role: string; share: number }>;
}

const VW_FILE = /\/src\/([a-z-]+)\/(.*)$/;
/** Folders that run other folders' code: their time is charged to the role they called, when there is one. */
const PLUMBING = new Set(['bus', 'time', 'durable', 'observability']);

/** vw:<folder>, dep:<package>, node:<module>, gc, idle, program or native:<name>. */
export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(program)') return 'program';
    return `native:${functionName || '(anonymous)'}`;
  }
  const dep = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return `dep:${dep[1]}`;
  const vw = VW_FILE.exec(url);
  if (vw) return `vw:${vw[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return `other:${url.split('/').slice(-2).join('/')}`;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areas = new Map<string, number>();
  const files = new Map<string, number>();
  const roles = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  let total = 0;
  profile.samples.forEach((id, i) => {
    const t = profile.timeDeltas[i] ?? 0;
    total += t;
    const { url, functionName } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    add(areas, area, t);
    const file = !url.includes('node_modules') ? VW_FILE.exec(url) : null;
    if (file) add(files, `${file[1]}/${file[2]}`, t);
    // The role whose work this was: the outermost vw folder on the stack other than the plumbing
    // that calls every role's handlers (the bus delivers to rules, sink and feed alike).
    let outermost: string | undefined;
    let outermostRole: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const u = byId.get(at)!.callFrame.url;
      const m = !u.includes('node_modules') ? VW_FILE.exec(u) : null;
      if (!m) continue;
      outermost = m[1];
      if (!PLUMBING.has(m[1]!)) outermostRole = m[1];
    }
    add(roles, outermostRole ?? outermost ?? (area === 'gc' || area === 'idle' || area === 'program' ? area : 'outside vw frames'), t);
  });
  const sorted = <K extends string>(m: Map<string, number>, key: K) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, t]) => ({ [key]: k, share: total ? t / total : 0 }) as { [P in K]: string } & { share: number });
  return { totalMs: total / 1000, busy: total ? 1 - (areas.get('idle') ?? 0) / total : 0, areas: sorted(areas, 'area'), files: sorted(files, 'file'), roles: sorted(roles, 'role') };
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: summarize.ts FILE.cpuprofile [--readings N]');
  const readingsAt = args.indexOf('--readings');
  const readings = readingsAt >= 0 ? Number(args[readingsAt + 1]) : undefined;
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const perReading = (share: number) => (readings ? ` ${((share * s.totalMs * 1000) / readings).toFixed(1).padStart(6)} µs/reading` : '');
  console.log(`window ${(s.totalMs / 1000).toFixed(1)} s, main thread busy ${(100 * s.busy).toFixed(1)}%${readings ? `, ${readings} readings: ${((s.busy * s.totalMs * 1000) / readings).toFixed(1)} µs of main thread each` : ''}`);
  const table = (title: string, rows: Array<{ share: number } & Record<string, unknown>>, key: string, n: number) => {
    console.log(`\n${title}`);
    for (const r of rows.slice(0, n)) console.log(`${(100 * r.share).toFixed(1).padStart(5)}%${perReading(r.share)}  ${String(r[key])}`);
  };
  table('self time by area', s.areas, 'area', 25);
  table('self time by vw file', s.files, 'file', 20);
  table('inclusive, by role (the outermost vw folder on the stack past the bus)', s.roles, 'role', 15);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
