import type { ScenarioResult } from './run-scenarios.ts';
import { soakReport } from './soak.ts';

/**
 * The benchmark's short markdown report: one row per scenario and target, the stated targets beside
 * the figures, each process's CPU and peak memory, and vw beside the Node-RED peer as ratios.
 */
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-GB') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const cpuOf = (r: ScenarioResult) => Object.values(r.processes).reduce((s, p) => s + (Number.isFinite(p.cpuSeconds) ? p.cpuSeconds : 0), 0);
const rssOf = (r: ScenarioResult) => Object.values(r.processes).reduce((s, p) => s + (Number.isFinite(p.peakRssMiB) ? p.peakRssMiB : 0), 0);

function targetNote(r: ScenarioResult): string {
  const notes: string[] = [];
  if (r.targets.readingsPerSecond) notes.push(`${int(r.targets.readingsPerSecond)}/s ${r.sustainedPerSecond >= r.targets.readingsPerSecond * 0.98 ? 'met' : 'missed'}`);
  if (r.targets.p99Ms) notes.push(`p99 < ${r.targets.p99Ms} ms ${r.latencyMs.p99 < r.targets.p99Ms ? 'met' : 'missed'}`);
  if (r.targets.readingsPerSecond || r.targets.p99Ms) notes.push(`nothing lost ${r.lost === 0 ? 'met' : 'missed'}`);
  return notes.join(', ') || '—';
}

export function scenarioReport(
  machine: { node: string; cpus: number; cpuModel: string; memoryGiB: number; commit: string; at: string; command: string },
  results: readonly ScenarioResult[],
  notRun: ReadonlyArray<{ scenario: string; target: string; why: string }>,
): string {
  const lines = [
    `## vw end-to-end benchmark, ${machine.at}`,
    '',
    `\`${machine.command}\` at ${machine.commit}; node ${machine.node}, ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB; every server, vw process and load worker on this one machine.`,
    '',
    '| scenario | target | devices | offered/s | sustained/s | p50 ms | p95 ms | p99 ms | max ms | published | stored | rejected | lost | CPU s | peak RSS MiB | targets |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    ...results.map(
      (r) =>
        `| ${r.scenario} (${r.seconds} s) | ${r.target} | ${int(r.connected)}/${int(r.devices)} | ${int(r.offeredPerSecond)} | ${int(r.sustainedPerSecond)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p95)} | ${ms(r.latencyMs.p99)} | ${ms(r.latencyMs.max)} | ${int(r.published)} | ${int(r.stored)} | ${int(r.rejected)} | ${int(r.lost)} | ${cpuOf(r).toFixed(1)} | ${int(rssOf(r))} | ${targetNote(r)} |`,
    ),
    '',
    'Per process (CPU seconds over the run / peak RSS MiB):',
    '',
    '| scenario | target | processes | load fleet |',
    '|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.target} | ${Object.entries(r.processes)
          .map(([name, p]) => `${name} ${p.cpuSeconds.toFixed(1)} / ${int(p.peakRssMiB)}`)
          .join('; ')} | ${r.fleet.workers} worker${r.fleet.workers === 1 ? '' : 's'} ${r.fleet.cpuSeconds.toFixed(1)} / ${int(r.fleet.peakRssMiB)}; errors ${r.fleet.errors}, deferred ${int(r.fleet.deferred)}, missed ${int(r.fleet.missed)} |`,
    ),
  ];
  const pairs = results.filter((r) => r.target !== 'node-red').flatMap((r) => {
    const peer = results.find((p) => p.scenario === r.scenario && p.target === 'node-red');
    return peer ? [[r, peer] as const] : [];
  });
  if (pairs.length) {
    lines.push(
      '',
      'vw beside the Node-RED peer on the same load (vw ÷ Node-RED; above 1 means vw sustains more, below 1 means vw takes less time or memory):',
      '',
      '| scenario | vw target | sustained/s | p99 latency | CPU s per 1,000 readings | peak RSS |',
      '|---|---|--:|--:|--:|--:|',
      ...pairs.map(
        ([r, p]) =>
          `| ${r.scenario} | ${r.target} | ${ratio(r.sustainedPerSecond, p.sustainedPerSecond)} | ${r.consoleClosedEarly || p.consoleClosedEarly ? 'n/a (a console was closed early)' : ratio(r.latencyMs.p99, p.latencyMs.p99)} | ${ratio(cpuOf(r) / Math.max(1, r.stored), cpuOf(p) / Math.max(1, p.stored))} | ${ratio(rssOf(r), rssOf(p))} |`,
      ),
      '',
      'The peer scores NEWS2 and sends every scored reading over WebSocket; it has no store, no rules beyond NEWS2, no alert lifecycle, and no Kafka: "stored" for it is readings it sent on. Its CPU and memory include its broker process (vw\'s broker alone), since Node-RED has none of its own.',
    );
  }
  lines.push('', ...results.map((r) => `- ${r.scenario} on ${r.target}: stored = ${r.storedBy}; the console had its ${r.devices > 1000 ? `${Math.ceil(r.devices / 1000)} ward snapshots` : 'ward snapshot'} in ${r.consoleReadySeconds.toFixed(1)} s; ${int(r.delivered)} readings reached it${r.consoleClosedEarly ? ` (the console was ${r.consoleClosedEarly}: latency covers only those)` : ''}.`));
  if (notRun.length) lines.push('', ...notRun.map((n) => `- ${n.scenario} on ${n.target}: ${n.why}`));
  for (const r of results) if (r.soak) lines.push('', ...soakReport(r, r.soak.samples, r.soak.summary));
  return `${lines.join('\n')}\n`;
}
