import type { Alert } from '../../domain/index.ts';
import { BASELINE, type Evidence } from './evaluate.ts';
import type { RuleDefinition } from './pack-file.ts';
import { isoTime } from '../../time/calendar.ts';

/** What a rule's alert says: its title, each threshold crossed, and the latest value behind them. */


export function explain(def: RuleDefinition, evidence: Evidence[], notes: readonly string[] = []): string {
  const parts = [...new Set([...evidence.filter((e) => e.threshold !== BASELINE).map((e) => e.threshold), ...notes])];
  const latest = evidence.filter((e) => e.threshold !== BASELINE).at(-1);
  return `${def.title}: ${parts.join('; ') || 'condition met'}${latest ? ` (latest ${String(latest.value)} at ${isoTime(latest.t).slice(0, 16)}Z)` : ''}`;
}

/** Each reading once per threshold it is held against, as the alert carries it. */
export function toAlertEvidence(evidence: Evidence[]): Alert['evidence'] {
  const seen = new Set<string>();
  const out: Alert['evidence'] = [];
  for (const e of evidence) {
    const key = `${e.readingId}\u0000${e.threshold}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ readingId: e.readingId, type: e.type, value: e.value, ts: isoTime(e.t), threshold: e.threshold });
  }
  return out;
}

/** Same readings held against the same thresholds as the alert already shows (without building the list). */
export function sameEvidence(alert: Alert, evidence: Evidence[]): boolean {
  let k = 0;
  for (let i = 0; i < evidence.length; i++) {
    const e = evidence[i]!;
    let repeated = false;
    for (let j = 0; j < i; j++) if (evidence[j]!.readingId === e.readingId && evidence[j]!.threshold === e.threshold) repeated = true;
    if (repeated) continue;
    const shown = alert.evidence[k++];
    if (!shown || shown.readingId !== e.readingId || shown.threshold !== e.threshold) return false;
  }
  return k === alert.evidence.length;
}
