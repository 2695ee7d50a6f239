import { describe, expect, it } from 'vitest';
import { heldGauges, soakReport, soakSummary, type SoakSample } from '../../bench/e2e/soak.ts';

function sample(t: number, rssMiB: number, heapUsedMiB: number, held: Record<string, number> = {}): SoakSample {
  return {
    t, rssMiB, heapUsedMiB, heapTotalMiB: heapUsedMiB + 100, externalMiB: 20, held, metricsRssMiB: rssMiB, dataDirMiB: 10, dataDirFiles: 3, published: t * 100, stored: t * 100, rejected: 0,
    storedPerSecond: 100, latencyMs: { n: 10, p50: 5, p99: 20, max: 30 }, load1: 1,
  };
}

/** Samples every 15 s over `seconds`, RSS rising `rssPerHour`, the heap sawing between a floor rising `floorPerHour` and 400 MiB above it. */
function run(seconds: number, rssPerHour: number, floorPerHour: number): SoakSample[] {
  const out: SoakSample[] = [];
  for (let t = 0; t <= seconds; t += 15) {
    const floor = 200 + (floorPerHour * t) / 3600;
    out.push(sample(t, 900 + (rssPerHour * t) / 3600 + (t % 30 ? 3 : -3), floor + ((t / 15) % 8) * 50, { 'bus vw.rules-state.v1': 1000, 'store points': Math.min(t * 10, 3000) }));
  }
  return out;
}

describe('soak figures', () => {
  it('reads the held gauges of each kind from /metrics text', () => {
    const text = [
      '# HELP vw_bus_records_held Records',
      'vw_bus_records_held{topic="vw.readings.v1"} 22004',
      'vw_store_held{kind="points"} 296000',
      'vw_feed_held{kind="alerts"} 12',
      'vw_process_heap 5',
    ].join('\n');
    expect(heldGauges(text)).toEqual({ 'bus vw.readings.v1': 22004, 'store points': 296000, 'feed alerts': 12 });
  });

  it('calls a run flat whose RSS holds level, and gives the live heap from the floor of the heap’s saw', () => {
    const summary = soakSummary(run(3600, 0, 0), 3600, 15);
    expect(summary.verdict).toBe('flat');
    expect(Math.abs(summary.liveHeapMiB.slopePerHour)).toBeLessThan(1);
    expect(summary.liveHeapMiB.steadyStart).toBe(200);
    expect(summary.liveHeapMiB.windows).toBe(20);
  });

  it('calls a run growing whose RSS rises 40 MiB an hour, and shows a leak in the live heap', () => {
    const summary = soakSummary(run(3600, 40, 30), 3600, 15);
    expect(summary.verdict).toBe('growing');
    expect(summary.rssMiB.slopePerHour).toBeCloseTo(40, 0);
    expect(summary.liveHeapMiB.slopePerHour).toBeGreaterThan(25);
    expect(summary.liveHeapMiB.slopePerHour).toBeLessThan(35);
  });

  it('gives no verdict on less than ten minutes of steady state', () => {
    expect(soakSummary(run(600, 0, 0), 600, 15).verdict).toBe('too short to judge');
  });

  it('reports the held counts at the start and end of the steady state', () => {
    const samples = run(3600, 0, 0);
    const lines = soakReport(
      { scenario: 's', target: 'embedded', seconds: 3600, targetPerSecond: 100, published: 1, stored: 1, rejected: 0, lost: 0, sustainedPerSecond: 100, latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 } },
      samples,
      soakSummary(samples, 3600, 15),
    );
    expect(lines).toContain('- held in memory, steady-state start → end: bus vw.rules-state.v1 1,000 → 1,000; store points 3,000 → 3,000.');
  });
});
