import { formatDuration } from '../../time/duration.ts';
import type { Condition, Operand, RulePack } from './pack-file.ts';
import type { News2Rule } from '../news2/rule-file.ts';
import { createRouteCatalogue, type ReferralRoutesFile } from '../../referrals/routes-file.ts';
import type { AlertSeverity } from '../../domain/index.ts';

/** docs/rules.md, generated from the rule files so the document cannot drift from what runs. */
function operand(value: Operand): string {
  if (typeof value !== 'object') return String(value);
  return `the patient's ${value.setting}${value.default !== undefined ? ` (${String(value.default)} unless set)` : ''}`;
}

export function describeCondition(c: Condition): string {
  const sustained = (s?: { for?: number; readings?: number }) =>
    s ? `, sustained ${[s.for !== undefined ? `for ${formatDuration(s.for)}` : '', s.readings !== undefined ? `over ${s.readings} consecutive readings` : ''].filter(Boolean).join(' and ')}` : '';
  switch (c.kind) {
    case 'threshold':
      return `${c.type} ${c.op} ${operand(c.value)}${sustained(c.sustained)}`;
    case 'hysteresis':
      return `raised when ${c.type} ${c.raise.op} ${operand(c.raise.value)}${sustained(c.sustained)}; cleared only when ${c.type} ${c.clear.op} ${operand(c.clear.value)}`;
    case 'delta':
      return `${c.type} change from ${typeof c.from === 'object' ? `the patient's ${c.from.setting}` : c.from.replace('window-', 'the window ')} within ${formatDuration(c.window)} ${c.op} ${c.value}`;
    case 'average':
      return `average ${c.type} over ${formatDuration(c.window)} (at least ${c.minReadings} readings) ${c.op} ${operand(c.value)}`;
    case 'protocol-average':
      return `home average of ${c.type} over the last ${c.days} calendar days (UK time), ${c.discardFirstDay ? `at least ${c.minDays} days with readings after the first day of monitoring, which is left out (${c.minDays + 1} days of monitoring counting it)` : `at least ${c.minDays} days with readings`}${c.excludeFlagged ? ', flagged readings left out' : ''}${c.position ? `, ${c.position} readings only` : ''}, ${c.op} ${operand(c.value)}`;
    case 'postural-drop':
      return `${c.type} falls by ${c.drop} or more from a sitting or lying reading to a standing one within ${formatDuration(c.within)}`;
    case 'missing':
      return `no ${c.type} reading for more than ${formatDuration(c.expectedEvery)} (checked on the clock, even when nothing arrives)`;
    case 'flagged':
      return `the latest ${c.type} is flagged ${c.flag}`;
    case 'all':
      return `all of: ${c.of.map((x) => `(${describeCondition(x)})`).join(' and ')}`;
    case 'any':
      return `any of: ${c.of.map((x) => `(${describeCondition(x)})`).join(' or ')}`;
  }
}

/** How every rule behaves, whatever its pack: the part of the document that is not generated from data. */
const ENGINE_SEMANTICS = `## How rules are evaluated

### Rule files

Each file in \`rules/\` (except \`news2.yaml\`, the NEWS2 table) is a pack: \`pack\`, \`version\`, \`title\`
and \`rules\`. Each rule has an \`id\`, a semantic \`version\` (change it with any change to the rule), the
\`pathways\` it applies to (or \`all\`), optionally the NEWS2 \`spo2Scale\` (1 or 2) of the patients it
applies to (a rule for Scale 1 judges a 94-98% target, one for Scale 2 a prescribed 88-92% target), a
\`description\`, its clinical \`source\`, a \`condition\`, a \`severity\`, optional \`levels\` (higher
severities with their own condition and response), a \`response\`, an optional \`escalation\` ladder
and \`autoResolve\`. Files are validated when vw starts;
a bad file stops it with the file, the rule and the field named.

### Conditions

| kind | holds when |
|---|---|
| \`threshold\` | the latest reading of a type compares true with a value (\`op\`: > >= < <= == !=) |
| \`sustained\` (option of threshold/hysteresis) | …and has done so for at least a duration (\`for\`) and/or a number of consecutive readings (\`readings\`) |
| \`hysteresis\` | raised by one comparison (optionally sustained); stays raised until a separate \`clear\` comparison holds |
| \`delta\` | the latest value differs from a reference (the window's lowest, highest or first value, or a per-patient setting) by more than a value, within a time window |
| \`average\` | the mean of readings in a time window (with a minimum count) compares true |
| \`protocol-average\` | the NICE home-BP protocol: the mean over the last N calendar days (UK time), with a minimum number of days, the first day of monitoring left out, readings flagged unreliable left out, optionally one body position only |
| \`postural-drop\` | a standing reading is lower than the seated or lying reading shortly before it by at least a value |
| \`missing\` | no reading of a type for longer than the expected interval; checked on the clock, so it fires on time when nothing arrives. Judged at the later of the patient's clock and the timers' time, so the same time raises and clears it: a late reading (an offline burst, a device clock behind) that is itself older than the interval does not clear the alert, and it does not flap |
| \`flagged\` | the latest reading of a type carries a device flag (e.g. irregular pulse during a BP measurement) |
| \`all\` / \`any\` | every / at least one of the nested conditions holds |

Types are the canonical reading types and \`news2\`, the series of complete NEWS2 totals (partial scores
are left out of it, so a rise cannot come from readings that were merely missing). A value may be
\`{ setting: NAME, default: V }\`: the patient's own setting a clinician has set, or the default; without
a default and without the setting, the condition cannot hold (the rule does not apply to the patient).

### Alerts

- One unresolved alert per patient and rule. A repeat updates it (new evidence and explanation, a
  higher \`revision\`); it never opens a second one.
- Severity starts at the rule's \`severity\` and steps up to the highest \`level\` whose condition holds,
  taking that level's response. It steps down only where the rule says \`severityMayFall: true\`, and
  never below what escalation reached. An acknowledged alert whose severity rises is reopened and
  its ladder goes on from the next step; an escalated one stays escalated.
- Escalation steps are timed from the opening (or reopening), each from the one before, whatever
  changed in between; a process taking a patient over resumes the ladder from the alert's history.
- States: \`open\` → \`escalated\` (nobody acknowledged it in time: each \`escalation\` step names after how
  long, to which severity, and who is told) → \`acknowledged\` → \`resolved\`, each with who and when.
- With \`autoResolve\` (the default) an alert resolves itself when its condition no longer holds, which
  for a hysteresis condition means past its clear threshold. Otherwise a person resolves it.
- After a person resolves an alert whose condition still holds, the rule is re-armed only once the
  condition has cleared: a reviewed patient is not re-alerted for the same episode.
- Every alert carries the rule id and version, the evidence (reading ids, values, event times and the
  threshold each was held against) and a one-line explanation.

### Time

- Event time, from the device, is the only time rules see. Each patient has a clock: the newest event
  time of its readings. Rules are evaluated at that clock when a reading arrives, and at the wall
  clock for timers (missing data, windows moving on, escalation), which run every 15 seconds on the
  rules process that owns the patient, whether or not readings arrive.
- **Late and out-of-order readings:** a reading is placed in its series in event-time order, so it
  counts in every window, average and delta it falls in, and an alert it causes is raised at the
  patient's clock. A reading older than the newest of its type is never the latest reading and advances no
  sustained count or hysteresis state. A reading older than everything a rule keeps has no effect. The
  same reading delivered twice (same reading id) is absorbed. Missing data is the exception to "at the
  patient's clock": it is judged at the later of that clock and the timers' time (above).
- The engine is deterministic: the same readings, actions and timer ticks in the same order give the
  same alerts, byte for byte, with the same alert ids. \`vw replay\` relies on this.

### State across restarts

After each batch of readings a rules process publishes each patient's rule state (held readings,
sustained and hysteresis state, re-arm marks, NEWS2 inputs) to the compacted topic
\`vw.rules-state.v1\`, before it commits the readings (on the embedded default too, whose bus is kept in the data
directory; only a throwaway run with \`VW_DURABLE=false\` writes none). A process that takes partitions over after a crash, a restart or a rebalance reads
the alerts topic and that changelog for those partitions before any of their readings, restores
their patients, and skips readings the restored state already includes, so an alert is neither
repeated nor lost. Their timers run from then on, so a patient who has gone quiet still gets a
missing-data alert on time. A process that gives partitions up lets go of their patients.
`.split('\n');

const SEVERITIES: AlertSeverity[] = ['high', 'medium', 'low-medium'];

export function rulesMarkdown(news2: News2Rule, packs: readonly RulePack[], routesFile?: ReferralRoutesFile): string {
  const catalogue = routesFile ? createRouteCatalogue(routesFile) : undefined;
  /** Per severity the rule can raise, the routes its alerts offer (rules/referral-routes.yaml). */
  const routesLine = (ruleId: string, severities: readonly AlertSeverity[]) => {
    if (!catalogue) return [];
    const parts = SEVERITIES.filter((s) => severities.includes(s)).map((severity) => {
      const routes = catalogue.offeredFor({ ruleId, severity });
      return `${severity}: ${routes.length ? routes.map((r) => r.title).join(', ') : 'none'}`;
    });
    return [`- **Referral routes offered:** ${parts.join('; ')}`];
  };
  const lines = [
    '# Rules',
    '',
    'Generated by `vw rules docs` from the files in `rules/`; do not edit by hand. Every alert names the',
    'rule id and version that raised it, the readings it used and the thresholds they were held against.',
    'See [news2.md](news2.md) for NEWS2 scoring and [replay.md](replay.md) for reviewing a rule change on',
    'recorded traces before it goes live.',
    '',
    ...ENGINE_SEMANTICS,
    `## ${news2.title} (\`${news2.id}\` ${news2.version})`,
    '',
    news2.description,
    '',
    `Source: ${news2.source}`,
    '',
    '| band | response |',
    '|---|---|',
    ...(['low', 'low-medium', 'medium', 'high'] as const).map((b) => `| ${b} | ${news2.response[b]}${news2.localPolicy?.reviewWithinMinutes[b] ? ` Local policy: review within ${news2.localPolicy.reviewWithinMinutes[b]} minutes.` : ''} |`),
    '',
    ...routesLine(news2.id, SEVERITIES),
    ...(catalogue ? [''] : []),
  ];
  for (const pack of packs) {
    lines.push(`## ${pack.title} (pack \`${pack.pack}\` ${pack.version})`, '');
    for (const rule of pack.rules) {
      lines.push(
        `### ${rule.title} (\`${rule.id}\` ${rule.version})`,
        '',
        rule.description,
        '',
        `- **Pathways:** ${rule.pathways === 'all' ? 'all' : rule.pathways.join(', ')}${rule.spo2Scale ? `; only patients on SpO2 Scale ${rule.spo2Scale} (target ${rule.spo2Scale === 2 ? '88-92%' : '94-98%'})` : ''}`,
        `- **Condition:** ${describeCondition(rule.condition)}`,
        `- **Severity:** ${rule.severity}${rule.levels.map((l) => `; ${l.severity} when ${describeCondition(l.when)}`).join('')}${rule.levels.length ? (rule.severityMayFall ? ' (steps down again when the higher level no longer holds)' : ' (steps up, never down by itself)') : ''}`,
        `- **Response:** ${rule.response}`,
        `- **Escalation:** ${rule.escalation.length ? rule.escalation.map((e) => `unacknowledged for ${formatDuration(e.afterUnacknowledged)} → ${e.to}, notify ${e.notify}`).join('; then ') : 'none'}`,
        `- **Resolves:** ${rule.autoResolve ? 'by itself when the condition clears' : 'only when a person resolves it'}`,
        ...routesLine(rule.id, [rule.severity, ...rule.levels.map((l) => l.severity), ...rule.escalation.map((e) => e.to)]),
        `- **Source:** ${rule.source}`,
        '',
      );
    }
  }
  if (routesFile) {
    lines.push(
      `## ${routesFile.title} (\`${routesFile.catalogue}\` ${routesFile.version})`,
      '',
      'Where a clinician can refer or escalate a patient from an alert or from the patient (docs/referrals.md).',
      'The choice stays the clinician\'s; the console shows the live capacity that bears on each route beside it.',
      '',
      '| route | service | FHIR priority | urgency | live capacity shown | wording |',
      '|---|---|---|---|---|---|',
      ...routesFile.routes.map((r) => `| ${r.title} (\`${r.id}\`) | ${r.service} | ${r.priority} | ${r.urgency} | ${r.capacity.join(', ') || 'none'} | ${r.wording} |`),
      '',
      'Offers, first match wins:',
      '',
      ...routesFile.offers.map((o, i) => `${i + 1}. ${o.rules === 'all' ? 'any rule' : o.rules.map((r) => `\`${r}\``).join(', ')} at ${o.severity.join(' or ')}: ${o.routes.map((id) => catalogue!.route(id)!.title).join(', ')}`),
      '',
      `From a patient rather than an alert: ${routesFile.patientRoutes.map((id) => catalogue!.route(id)!.title).join(', ')}.`,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
