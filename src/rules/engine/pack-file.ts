import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AlertSeverity, Pathway, READING_TYPES } from '../../domain/index.ts';
import { Duration } from '../../time/duration.ts';
import { parseYaml } from '../../config/yaml-file.ts';

/**
 * Rule packs: clinical escalation rules as versioned data (rules/*.yaml) that a clinical safety
 * officer can read, diff and sign off. Validated at load; a bad file is refused naming the file, the
 * rule and the field.
 */
/** What a condition can look at: every canonical reading type, and NEWS2 totals as they are scored. */
export const SERIES_TYPES = [...READING_TYPES, 'news2'] as const;
export const SeriesType = z.enum(SERIES_TYPES);
export type SeriesType = z.infer<typeof SeriesType>;

export const Position = z.enum(['sitting', 'standing', 'lying']);

export const Operator = z.enum(['>', '>=', '<', '<=', '==', '!=']);
export type Operator = z.infer<typeof Operator>;

/**
 * A value in a condition: a literal, or a per-patient setting a clinician sets (`setting: baselineWeight`),
 * with the value to use when the patient has none (without one, the condition cannot hold).
 */
const Operand = z.union([
  z.number(),
  z.string(),
  z.boolean(),
  z.object({ setting: z.string().min(1), default: z.union([z.number(), z.string(), z.boolean()]).optional() }).strict(),
]);
export type Operand = z.infer<typeof Operand>;

const Sustained = z
  .object({
    /** True throughout at least this long (event time)… */
    for: Duration.optional(),
    /** …and/or for at least this many consecutive readings. */
    readings: z.number().int().positive().optional(),
  })
  .refine((s) => s.for !== undefined || s.readings !== undefined, 'sustained needs `for` and/or `readings`');

export type Condition =
  | { kind: 'threshold'; type: SeriesType; op: Operator; value: Operand; sustained?: z.infer<typeof Sustained> }
  | {
      kind: 'hysteresis';
      type: SeriesType;
      raise: { op: Operator; value: Operand };
      clear: { op: Operator; value: Operand };
      sustained?: z.infer<typeof Sustained>;
    }
  | { kind: 'delta'; type: SeriesType; window: number; from: 'window-min' | 'window-max' | 'window-first' | { setting: string }; op: Operator; value: number }
  | { kind: 'average'; type: SeriesType; window: number; minReadings: number; op: Operator; value: Operand }
  | {
      kind: 'protocol-average';
      type: SeriesType;
      days: number;
      minDays: number;
      discardFirstDay: boolean;
      excludeFlagged: boolean;
      position?: z.infer<typeof Position>;
      op: Operator;
      value: Operand;
    }
  | { kind: 'postural-drop'; type: SeriesType; within: number; drop: number }
  | { kind: 'missing'; type: SeriesType; expectedEvery: number }
  | { kind: 'flagged'; type: SeriesType; flag: string }
  | { kind: 'all'; of: Condition[] }
  | { kind: 'any'; of: Condition[] };

export const Condition: z.ZodType<Condition, unknown> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('threshold'), type: SeriesType, op: Operator, value: Operand, sustained: Sustained.optional() }).strict(),
    z
      .object({
        kind: z.literal('hysteresis'),
        type: SeriesType,
        raise: z.object({ op: Operator, value: Operand }).strict(),
        clear: z.object({ op: Operator, value: Operand }).strict(),
        sustained: Sustained.optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('delta'),
        type: SeriesType,
        window: Duration,
        from: z.union([z.enum(['window-min', 'window-max', 'window-first']), z.object({ setting: z.string().min(1) })]),
        op: Operator,
        value: z.number(),
      })
      .strict(),
    z.object({ kind: z.literal('average'), type: SeriesType, window: Duration, minReadings: z.number().int().positive(), op: Operator, value: Operand }).strict(),
    z
      .object({
        kind: z.literal('protocol-average'),
        type: SeriesType,
        /** Calendar days (Europe/London) averaged, counting today. */
        days: z.number().int().min(1).max(31),
        /** Days with readings needed, after any discarded first day, before the average counts. */
        minDays: z.number().int().min(1),
        /** Leave out the first day of monitoring, as the NICE home-BP protocol does. */
        discardFirstDay: z.boolean().default(false),
        /** Leave out readings a device flagged as unreliable (e.g. an irregular pulse during a BP measurement). */
        excludeFlagged: z.boolean().default(true),
        /** Only readings taken in this position (readings without a position are taken as given correctly). */
        position: Position.optional(),
        op: Operator,
        value: Operand,
      })
      .strict()
      .refine((c) => c.minDays <= c.days, { message: 'minDays must not exceed days', path: ['minDays'] }),
    z.object({ kind: z.literal('postural-drop'), type: SeriesType, within: Duration, drop: z.number().positive() }).strict(),
    z.object({ kind: z.literal('missing'), type: SeriesType, expectedEvery: Duration }).strict(),
    z.object({ kind: z.literal('flagged'), type: SeriesType, flag: z.string().min(1) }).strict(),
    z.object({ kind: z.literal('all'), of: z.array(Condition).min(1) }).strict(),
    z.object({ kind: z.literal('any'), of: z.array(Condition).min(1) }).strict(),
  ]),
) as z.ZodType<Condition, unknown>;

export const Escalation = z
  .object({
    /** Unacknowledged for this long after opening (or the previous step): escalate. */
    afterUnacknowledged: Duration,
    to: AlertSeverity,
    /** Who is told, in words for the console (e.g. "virtual ward consultant"). */
    notify: z.string().min(1),
  })
  .strict();

export const RuleDefinition = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens'),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'a semantic version, e.g. 1.0.0'),
    title: z.string().min(1),
    /** Pathways the rule applies to, or `all`. */
    pathways: z.union([z.literal('all'), z.array(Pathway).min(1)]),
    /**
     * Only for patients whose SpO2 is judged on this NEWS2 scale: 1 (target 94-98%) or 2 (a prescribed
     * 88-92% target, hypercapnic respiratory failure). Absent: every patient on the pathways.
     */
    spo2Scale: z.union([z.literal(1), z.literal(2)]).optional(),
    description: z.string().min(1),
    source: z.string().min(1),
    condition: Condition,
    severity: AlertSeverity,
    /**
     * Higher severities for the same alert: the highest level whose condition holds (while the rule's
     * condition holds) sets the severity, so one alert steps up instead of a second alert opening.
     */
    levels: z.array(z.object({ severity: AlertSeverity, when: Condition, response: z.string().min(1).optional() }).strict()).default([]),
    /** Severity only steps down when the rule says so; escalation never steps down. */
    severityMayFall: z.boolean().default(false),
    response: z.string().min(1),
    escalation: z.array(Escalation).default([]),
    /** Resolve by itself when the condition clears (past its hysteresis); otherwise a person resolves it. */
    autoResolve: z.boolean().default(true),
  })
  .strict();
export type RuleDefinition = z.infer<typeof RuleDefinition>;

export const RulePack = z
  .object({
    pack: z.string().regex(/^[a-z0-9-]+$/),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'a semantic version, e.g. 1.0.0'),
    title: z.string().min(1),
    rules: z.array(RuleDefinition).min(1),
  })
  .strict();
export type RulePack = z.infer<typeof RulePack>;

function describeIssue(file: string, json: unknown, issue: z.core.$ZodIssue): string {
  const path = issue.path;
  let where = '';
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const id = (json as { rules?: Array<{ id?: unknown }> }).rules?.[path[1]]?.id;
    where = ` rule ${typeof id === 'string' ? id : `#${path[1]}`}:`;
    return `${file}:${where} ${path.slice(2).join('.') || '(rule)'}: ${issue.message}`;
  }
  return `${file}: ${path.join('.') || '(pack)'}: ${issue.message}`;
}

export function parseRulePack(file: string, text: string): RulePack {
  const json = parseYaml(file, text);
  const parsed = RulePack.safeParse(json);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => describeIssue(file, json, i)).join('\n'));
  const ids = new Set<string>();
  for (const rule of parsed.data.rules) {
    if (ids.has(rule.id)) throw new Error(`${file}: rule ${rule.id}: id used twice`);
    ids.add(rule.id);
  }
  return parsed.data;
}

/** Every `*.yaml` pack in a folder, except NEWS2's own table file. */
export async function loadRulePacks(dir: string): Promise<RulePack[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'news2.yaml' && f !== 'referral-routes.yaml').sort();
  const packs = await Promise.all(files.map(async (f) => parseRulePack(join(dir, f), await readFile(join(dir, f), 'utf8'))));
  const seen = new Map<string, string>();
  for (const pack of packs) {
    for (const rule of pack.rules) {
      const other = seen.get(rule.id);
      if (other) throw new Error(`rule ${rule.id} is defined in both ${other} and pack ${pack.pack}`);
      seen.set(rule.id, pack.pack);
    }
  }
  return packs;
}
