import type { AdmissionSource, DischargeOutcome, FlowEvent, Ward } from '../domain/index.ts';
import { spellsFromEvents, type FlowReport, type GroupReport } from './flow-measures.ts';
import type { PeriodReport, PeriodReports } from './monthly.ts';
import type { PathwayBeds, PathwayPlan, Plan } from './planning.ts';

/**
 * Statistical disclosure control of the capacity report: the one rule every output (JSON, CSV, HTML,
 * the planner view) follows, applied to the report's figures before any of them is written
 * (docs/reports.md, "Small numbers").
 *
 * 1. Primary: a count of people or events from 1 to 4 is withheld (0 and 5 or more are shown).
 * 2. Derived: a rate worked out from a withheld count is withheld (it gives the count back with the
 *    patient-days or days beside it); a median, centile or mean of fewer than 5 people's figures is
 *    withheld (it would show one patient's stay).
 * 3. Secondary: where published figures add up (a total and its parts: step-up and step-down, the
 *    sources, outcomes, routes, rules, IMD deciles; wards within a provider and an ICS, providers within
 *    an ICS, pathways within the ICS; months and weeks within the period; a pathway's plan and its
 *    admissions), no sum is left with exactly one withheld figure, which could be worked out by
 *    subtraction: the smallest other non-zero figure in it is withheld too, until none is. (The usual
 *    heuristic, not an audit of every combination of sums.)
 *
 * Monitoring (days with readings, hours of data missing) describes how patients behaved, so it is
 * withheld where it could be of fewer than 5 patients: a patient counts on at most one census a day,
 * so a group is known to hold 5 or more only when 5 were on it at one census, or its patient-days
 * at census exceed 4 × the days of the period.
 *
 * Withheld figures become null, and each object carrying them lists their paths in `suppressed`
 * (e.g. "admissions.stepDown", "discharges.byOutcome.died"), so that "not computable" (null, not
 * listed) and "withheld" (null, listed) stay apart. Occupancy (patients at the daily census, their
 * mean and percentage of beds), patient-days and capacity are measures of bed use, as NHS England's
 * virtual ward publication reports them, and are not withheld; nor are the ambulance, 111 and OPEL
 * figures, which are not of the wards' patients. FIGURES names the class of every figure of a group.
 */
export const SMALL_COUNT = 5;

/** What the JSON report says about the rule, beside the figures. */
export const DISCLOSURE_CONTROL = {
  threshold: SMALL_COUNT,
  note:
    'Counts of 1 to 4 people or events are withheld (null, and their paths listed in "suppressed" of the object carrying them), ' +
    'as are rates worked out from a withheld count, medians, centiles and means of fewer than 5 people, and any figure from which a withheld one could be worked out by subtraction. ' +
    'Occupancy, patient-days and capacity are measures of bed use and are shown.',
} as const;

/**
 * Every figure of a group (GroupReport), `*` for a key of a breakdown: `count` (withheld from 1 to 4, and
 * as secondary), `few-patients` (withheld where of fewer than 5 patients, and as secondary),
 * `derived` (withheld with what it is worked out from) or `shown` (bed use, capacity, a parameter). A
 * test holds every numeric figure of a report to this list, so a new measure has to be placed in it.
 */
export const FIGURES: Readonly<Record<string, 'count' | 'few-patients' | 'derived' | 'shown'>> = {
  capacity: 'shown',
  capacityPer100kAdults: 'shown',
  'occupancy.daily.*.occupied': 'shown',
  'occupancy.daily.*.percent': 'shown',
  'occupancy.monthly.*.meanOccupied': 'shown',
  'occupancy.monthly.*.meanPercent': 'shown',
  'occupancy.meanOccupied': 'shown',
  'occupancy.meanPercent': 'shown',
  patientDays: 'shown',
  'admissions.total': 'count',
  'admissions.stepUp': 'count',
  'admissions.stepDown': 'count',
  'admissions.bySource.*': 'count',
  'transfers.in': 'count',
  'transfers.out': 'count',
  'discharges.total': 'count',
  'discharges.byOutcome.*': 'count',
  acuteAdmissions: 'count',
  'lengthOfStayDays.spells': 'count',
  'lengthOfStayDays.median': 'derived',
  'lengthOfStayDays.p90': 'derived',
  'referrals.total': 'count',
  'referrals.per100PatientDays': 'derived',
  'referrals.byRoute.*.count': 'count',
  'referrals.byRoute.*.per100PatientDays': 'derived',
  'referrals.byRoute.*.byOutcome.*': 'count',
  'alerts.total': 'count',
  'alerts.perPatientDay': 'derived',
  'alerts.byRule.*.count': 'count',
  'alerts.byRule.*.perPatientDay': 'derived',
  'alerts.minutesToAcknowledge.*.acknowledged': 'count',
  'alerts.minutesToAcknowledge.*.notAcknowledged': 'count',
  'alerts.minutesToAcknowledge.*.median': 'derived',
  'alerts.minutesToAcknowledge.*.p90': 'derived',
  // Patient-days at census: the sum of the daily occupancy, shown already.
  'monitoring.expectedDays': 'shown',
  'monitoring.daysWithReadings': 'few-patients',
  'monitoring.percent': 'derived',
  'monitoring.expectedEveryHours': 'shown',
  'monitoring.hoursMissing': 'few-patients',
  'monitoring.hoursMissingPerPatientDay': 'derived',
  'equity.admissionsByImdDecile.*': 'count',
  'equity.adherenceByImdDecile.*.expectedDays': 'few-patients',
  'equity.adherenceByImdDecile.*.daysWithReadings': 'few-patients',
  'equity.adherenceByImdDecile.*.percent': 'derived',
};

/** A count of 1 to 4: withheld. */
export function isSmall(n: number): boolean {
  return n > 0 && n < SMALL_COUNT;
}

type N = number | null;

/** A group's figures after disclosure control: each withheld one null, its path in `suppressed`. */
export interface SuppressedGroupReport extends Omit<GroupReport, 'admissions' | 'transfers' | 'discharges' | 'acuteAdmissions' | 'lengthOfStayDays' | 'referrals' | 'alerts' | 'monitoring' | 'equity'> {
  admissions: { total: N; stepUp: N; stepDown: N; bySource: Partial<Record<AdmissionSource, N>> };
  transfers: { in: N; out: N };
  discharges: { total: N; byOutcome: Partial<Record<DischargeOutcome, N>> };
  acuteAdmissions: N;
  lengthOfStayDays: { spells: N; median: N; p90: N };
  referrals: { total: N; per100PatientDays: N; byRoute: Record<string, { count: N; per100PatientDays: N; byOutcome: Record<string, N> }> };
  alerts: {
    total: N;
    perPatientDay: N;
    byRule: Record<string, { count: N; perPatientDay: N }>;
    minutesToAcknowledge: Record<string, { acknowledged: N; notAcknowledged: N; median: N; p90: N }>;
  };
  monitoring: { expectedDays: number; daysWithReadings: N; percent: N; expectedEveryHours: number; hoursMissing: N; hoursMissingPerPatientDay: N } | null;
  equity: { admissionsByImdDecile: Record<string, N>; adherenceByImdDecile: Record<string, { expectedDays: N; daysWithReadings: N; percent: N }> | null };
  /** The paths of the figures withheld (null above). */
  suppressed: string[];
}

export interface SuppressedFlowReport extends Omit<FlowReport, 'groups'> {
  groups: SuppressedGroupReport[];
}

export interface SuppressedPeriodReports extends Omit<PeriodReports, 'periods'> {
  periods: Array<Omit<PeriodReport, 'report'> & { report: SuppressedFlowReport }>;
}

export interface SuppressedPathwayPlan extends Omit<PathwayPlan, 'arrivalsPerDay' | 'stepUpFromAmbulanceAnd111PerDay' | 'meanStayDays' | 'completedSpells' | 'offeredLoad' | 'surge'> {
  arrivalsPerDay: N;
  stepUpFromAmbulanceAnd111PerDay: N;
  meanStayDays: N;
  completedSpells: N;
  offeredLoad: N;
  surge: { factor: number; arrivalsPerDay: N; offeredLoad: N; bedsNeeded: number };
  suppressed: string[];
}

export interface SuppressedPlan extends Omit<Plan, 'pathways' | 'total'> {
  pathways: SuppressedPathwayPlan[];
  total: { offeredLoad: N; bedsNeeded: number; surgeOfferedLoad: N; surgeBedsNeeded: number; suppressed: string[] };
  commissionedBeds?: PathwayBeds[];
}

/** Whether the figure at `path` of `item` (a group, a pathway's plan, the plan's total) was withheld. */
export function isWithheld(item: { suppressed: readonly string[] }, path: string): boolean {
  return item.suppressed.includes(path);
}

/** One published figure in sums: withheld or not, and where to write null if it is. */
interface Cell {
  value: number;
  withheld: boolean;
  /** What withholding it costs a reader: an ICS's figure most, a ward's or pathway's least. */
  weight?: number;
  /** Known whatever is withheld (worked out from figures always shown): never withheld as secondary. */
  fixed?: boolean;
  /** Absent for a figure not written itself (a plan's admissions, published only as a rate). */
  write?: () => void;
}

type Cells = Map<string, Cell>;

/**
 * Withholding an ICS's figure costs readers more than a provider's, and that more than a ward's or
 * pathway's (or a week's, which only a chart shows); a total more than its parts.
 */
const WEIGHT: Record<string, number> = { ics: 100, provider: 10 };
const TOTALS = new Set(['admissions.total', 'discharges.total', 'referrals.total', 'alerts.total']);

function counter(cells: Cells, owner: { suppressed: string[] }, weight = 1) {
  return (path: string, holder: Record<string, unknown> | null | undefined, key: string, primary: (n: number) => boolean = isSmall) => {
    const value = holder?.[key];
    if (!holder || typeof value !== 'number') return;
    cells.set(path, {
      value,
      withheld: primary(value),
      weight: TOTALS.has(path) ? 3 * weight : weight,
      write: () => {
        holder[key] = null;
        owner.suppressed.push(path);
      },
    });
  };
}

/**
 * Whether patient-days at census (`expectedDays`) over `days` census days could be of fewer than 5
 * patients: each patient counts on at most one census a day.
 */
function fewPatients(expectedDays: number, days: number, mostAtOneCensus = 0): boolean {
  return expectedDays > 0 && mostAtOneCensus < SMALL_COUNT && expectedDays <= (SMALL_COUNT - 1) * days;
}

/** The counts of a group, by path; `minor` for a group only a chart shows (a week's). */
function groupCells(g: SuppressedGroupReport, minor = false): Cells {
  const cells: Cells = new Map();
  const add = counter(cells, g, minor ? 1 : (WEIGHT[g.level] ?? 1));
  for (const k of ['total', 'stepUp', 'stepDown']) add(`admissions.${k}`, g.admissions, k);
  for (const k of Object.keys(g.admissions.bySource)) add(`admissions.bySource.${k}`, g.admissions.bySource, k);
  add('transfers.in', g.transfers, 'in');
  add('transfers.out', g.transfers, 'out');
  add('discharges.total', g.discharges, 'total');
  for (const k of Object.keys(g.discharges.byOutcome)) add(`discharges.byOutcome.${k}`, g.discharges.byOutcome, k);
  add('acuteAdmissions', g as unknown as Record<string, unknown>, 'acuteAdmissions');
  add('lengthOfStayDays.spells', g.lengthOfStayDays, 'spells');
  add('referrals.total', g.referrals, 'total');
  for (const [route, r] of Object.entries(g.referrals.byRoute)) {
    add(`referrals.byRoute.${route}.count`, r, 'count');
    for (const k of Object.keys(r.byOutcome)) add(`referrals.byRoute.${route}.byOutcome.${k}`, r.byOutcome, k);
  }
  add('alerts.total', g.alerts, 'total');
  for (const [rule, r] of Object.entries(g.alerts.byRule)) add(`alerts.byRule.${rule}.count`, r, 'count');
  for (const [severity, m] of Object.entries(g.alerts.minutesToAcknowledge)) {
    add(`alerts.minutesToAcknowledge.${severity}.acknowledged`, m, 'acknowledged');
    add(`alerts.minutesToAcknowledge.${severity}.notAcknowledged`, m, 'notAcknowledged');
  }
  for (const k of Object.keys(g.equity.admissionsByImdDecile)) add(`equity.admissionsByImdDecile.${k}`, g.equity.admissionsByImdDecile, k);
  const days = g.occupancy.daily.length;
  const m = g.monitoring;
  if (m) {
    const few = () => fewPatients(m.expectedDays, days, Math.max(0, ...g.occupancy.daily.map((d) => d.occupied)));
    // Shown (the sum of the daily occupancy), but in the sums of the deciles' patient-days.
    cells.set('monitoring.expectedDays', { value: m.expectedDays, withheld: false, fixed: true });
    add('monitoring.daysWithReadings', m, 'daysWithReadings', few);
    add('monitoring.hoursMissing', m, 'hoursMissing', few);
  }
  for (const [k, a] of Object.entries(g.equity.adherenceByImdDecile ?? {})) {
    const few = () => fewPatients(a.expectedDays ?? 0, days);
    add(`equity.adherenceByImdDecile.${k}.expectedDays`, a, 'expectedDays', few);
    add(`equity.adherenceByImdDecile.${k}.daysWithReadings`, a, 'daysWithReadings', few);
  }
  return cells;
}

/** The sums within one group: a total and its parts (or two figures that are always equal). */
function groupSums(g: SuppressedGroupReport, cells: Cells): Cell[][] {
  const of = (prefix: string, suffix = '') => [...cells].filter(([p]) => p.startsWith(prefix) && p.endsWith(suffix)).map(([, c]) => c);
  const at = (...paths: string[]) => paths.map((p) => cells.get(p));
  const sums: Array<Array<Cell | undefined>> = [
    at('admissions.total', 'admissions.stepUp', 'admissions.stepDown'),
    [cells.get('admissions.total'), ...of('admissions.bySource.')],
    [cells.get('admissions.total'), ...of('equity.admissionsByImdDecile.')],
    [cells.get('discharges.total'), ...of('discharges.byOutcome.')],
    at('discharges.total', 'lengthOfStayDays.spells'),
    at('acuteAdmissions', 'discharges.byOutcome.admitted-acute'),
    [cells.get('referrals.total'), ...Object.keys(g.referrals.byRoute).map((r) => cells.get(`referrals.byRoute.${r}.count`))],
    ...Object.entries(g.referrals.byRoute).map(([r, route]) => [cells.get(`referrals.byRoute.${r}.count`), ...Object.keys(route.byOutcome).map((k) => cells.get(`referrals.byRoute.${r}.byOutcome.${k}`))]),
    [cells.get('alerts.total'), ...Object.keys(g.alerts.byRule).map((r) => cells.get(`alerts.byRule.${r}.count`))],
    [cells.get('alerts.total'), ...Object.keys(g.alerts.minutesToAcknowledge).flatMap((s) => at(`alerts.minutesToAcknowledge.${s}.acknowledged`, `alerts.minutesToAcknowledge.${s}.notAcknowledged`))],
    // The deciles share out the group's patient-days at census, and those with readings.
    [cells.get('monitoring.expectedDays'), ...of('equity.adherenceByImdDecile.', '.expectedDays')],
    [cells.get('monitoring.daysWithReadings'), ...of('equity.adherenceByImdDecile.', '.daysWithReadings')],
  ];
  // A figure absent from a sum is a known 0: only the ones present can hide anything.
  return sums.map((s) => s.filter((c): c is Cell => c !== undefined)).filter((s) => s.length > 1);
}

/** Sums across groups: `total`'s figure at each path is the sum of the parts' figures there. */
function crossSums(total: Cells | undefined, parts: ReadonlyArray<Cells | undefined>, only?: (path: string) => boolean): Cell[][] {
  if (!total) return [];
  const present = parts.filter((p): p is Cells => p !== undefined);
  if (!present.length) return [];
  const paths = new Set([...total.keys(), ...present.flatMap((p) => [...p.keys()])]);
  const sums: Cell[][] = [];
  for (const path of paths) {
    if (only && !only(path)) continue;
    const cells = [total.get(path), ...present.map((p) => p.get(path))].filter((c): c is Cell => c !== undefined);
    if (cells.length > 1) sums.push(cells);
  }
  return sums;
}

/**
 * Withholds, in every sum left with exactly one withheld figure, another of its non-zero figures, until
 * no sum is left so. Of the figures it could withhold, the one whose knock-on withholding (in the other
 * sums it is in, and theirs) costs readers least: so a small pathway's count is hidden behind another
 * pathway's rather than behind the ICS's step-up and step-down; the smaller figure on a tie.
 */
function secondary(sums: readonly Cell[][]): void {
  const sumsOf = new Map<Cell, Cell[][]>();
  for (const sum of sums) for (const c of sum) (sumsOf.get(c) ?? sumsOf.set(c, []).get(c)!).push(sum);
  const open = (sum: readonly Cell[], hidden: (c: Cell) => boolean) => {
    let n = 0;
    for (const c of sum) if (hidden(c)) n++;
    return n === 1;
  };
  const smallest = (sum: readonly Cell[], hidden: (c: Cell) => boolean) => {
    let best: Cell | undefined;
    for (const c of sum) if (!hidden(c) && !c.fixed && c.value > 0 && (!best || c.value < best.value)) best = c;
    return best;
  };
  /** What withholding `first` would cost, with what it leads to withholding (greedily, smallest first). */
  const cost = (first: Cell) => {
    const extra = new Set<Cell>([first]);
    const hidden = (c: Cell) => c.withheld || extra.has(c);
    const queue = [first];
    let total = 0;
    while (queue.length) {
      const cell = queue.pop()!;
      total += cell.weight ?? 1;
      for (const sum of sumsOf.get(cell) ?? []) {
        if (!open(sum, hidden)) continue;
        const next = smallest(sum, hidden);
        if (next) {
          extra.add(next);
          queue.push(next);
        }
      }
    }
    return total;
  };
  const withheld = (c: Cell) => c.withheld;
  for (let changed = true; changed; ) {
    changed = false;
    for (const sum of sums) {
      if (!open(sum, withheld)) continue;
      let best: { cell: Cell; cost: number } | undefined;
      for (const c of sum) {
        if (c.withheld || c.fixed || c.value <= 0) continue;
        const price = cost(c);
        if (!best || price < best.cost || (price === best.cost && c.value < best.cell.value)) best = { cell: c, cost: price };
      }
      if (best) {
        best.cell.withheld = true;
        changed = true;
      }
    }
  }
}

/** A copy of the report whose groups each start with nothing withheld. */
function copyReport(report: FlowReport): SuppressedFlowReport {
  const copy = structuredClone(report) as unknown as SuppressedFlowReport;
  for (const g of copy.groups) g.suppressed = [];
  return copy;
}

const keyOf = (g: { level: string; id: string }) => `${g.level}:${g.id}`;

/** The wards' groups of a report under each provider and ICS, and its providers under each ICS. */
function hierarchySums(report: SuppressedFlowReport, cells: Map<string, Cells>, wards: readonly Ward[]): Cell[][] {
  const get = (level: string, id: string) => cells.get(`${level}:${id}`);
  const sums: Cell[][] = [];
  const providers = report.groups.filter((g) => g.level === 'provider');
  const systems = report.groups.filter((g) => g.level === 'ics');
  for (const p of providers) sums.push(...crossSums(get('provider', p.id), wards.filter((w) => w.organisation === p.id).map((w) => get('ward', w.wardId))));
  for (const s of systems) {
    const mine = wards.filter((w) => w.ics === s.id);
    sums.push(...crossSums(get('ics', s.id), mine.map((w) => get('ward', w.wardId))));
    // Providers all of whose wards are the ICS's.
    const whole = providers.filter((p) => wards.some((w) => w.organisation === p.id) && wards.every((w) => w.organisation !== p.id || w.ics === s.id));
    sums.push(...crossSums(get('ics', s.id), whole.map((p) => get('provider', p.id))));
  }
  // The pathways share out the ICS's admissions and discharges (each spell has one pathway), when
  // the report is of one ICS whose wards are all there are.
  const pathways = report.groups.filter((g) => g.level === 'pathway');
  if (systems.length === 1 && pathways.length && wards.every((w) => w.ics === systems[0]!.id)) {
    const additive = (path: string) => /^(admissions\.|discharges\.|acuteAdmissions$|lengthOfStayDays\.spells$|equity\.|monitoring\.)/.test(path);
    sums.push(...crossSums(get('ics', systems[0]!.id), pathways.map((p) => get('pathway', p.id)), additive));
  }
  return sums;
}

/** Nulls and lists the figures worked out from withheld counts, or from fewer than 5 people. */
function withholdDerived(g: SuppressedGroupReport, cells: Cells): void {
  const hide = (holder: Record<string, unknown>, key: string, path: string) => {
    if (holder[key] === null || holder[key] === undefined) return;
    holder[key] = null;
    g.suppressed.push(path);
  };
  const small = (path: string) => {
    const c = cells.get(path);
    return c !== undefined && isSmall(c.value);
  };
  const withheld = (path: string) => cells.get(path)?.withheld === true;
  if (small('lengthOfStayDays.spells')) {
    hide(g.lengthOfStayDays, 'median', 'lengthOfStayDays.median');
    hide(g.lengthOfStayDays, 'p90', 'lengthOfStayDays.p90');
  }
  if (withheld('referrals.total')) hide(g.referrals, 'per100PatientDays', 'referrals.per100PatientDays');
  for (const [route, r] of Object.entries(g.referrals.byRoute)) if (withheld(`referrals.byRoute.${route}.count`)) hide(r, 'per100PatientDays', `referrals.byRoute.${route}.per100PatientDays`);
  if (withheld('alerts.total')) hide(g.alerts, 'perPatientDay', 'alerts.perPatientDay');
  for (const [rule, r] of Object.entries(g.alerts.byRule)) if (withheld(`alerts.byRule.${rule}.count`)) hide(r, 'perPatientDay', `alerts.byRule.${rule}.perPatientDay`);
  for (const [severity, m] of Object.entries(g.alerts.minutesToAcknowledge)) {
    if (small(`alerts.minutesToAcknowledge.${severity}.acknowledged`)) {
      hide(m, 'median', `alerts.minutesToAcknowledge.${severity}.median`);
      hide(m, 'p90', `alerts.minutesToAcknowledge.${severity}.p90`);
    }
  }
  if (g.monitoring) {
    if (withheld('monitoring.daysWithReadings')) hide(g.monitoring, 'percent', 'monitoring.percent');
    if (withheld('monitoring.hoursMissing')) hide(g.monitoring, 'hoursMissingPerPatientDay', 'monitoring.hoursMissingPerPatientDay');
  }
  for (const [k, a] of Object.entries(g.equity.adherenceByImdDecile ?? {})) {
    if (withheld(`equity.adherenceByImdDecile.${k}.daysWithReadings`) || withheld(`equity.adherenceByImdDecile.${k}.expectedDays`)) hide(a, 'percent', `equity.adherenceByImdDecile.${k}.percent`);
  }
}

/** Per pathway, the counts a plan's rates are worked out from (as planBeds counts them). */
export function planBasis(events: readonly FlowEvent[], options: { from: Date; to: Date }): Map<string, { admitted: number; surgeable: number; completed: number }> {
  const from = options.from.getTime();
  const to = options.to.getTime();
  const basis = new Map<string, { admitted: number; surgeable: number; completed: number }>();
  for (const s of spellsFromEvents(events).spells) {
    const b = basis.get(s.pathway) ?? { admitted: 0, surgeable: 0, completed: 0 };
    basis.set(s.pathway, b);
    if (s.admittedAt >= from && s.admittedAt < to) {
      b.admitted++;
      if (s.admission === 'step-up' && (s.source === 'ambulance' || s.source === 'nhs111')) b.surgeable++;
    }
    if (s.dischargedAt !== undefined && s.dischargedAt >= from && s.dischargedAt < to) b.completed++;
  }
  return basis;
}

export interface ReportBundle {
  /** The period's report (every level). */
  report: FlowReport;
  /** Its months (monthlyReports over the same period), if published. */
  monthly?: PeriodReports;
  /** Its weeks (weeklyReports), if published. */
  weekly?: PeriodReports;
  /** planBeds over the same period, and the events it was worked out from. */
  plan?: { plan: Plan & { commissionedBeds?: readonly PathwayBeds[] }; events: readonly FlowEvent[] };
  /** The report's wards: which provider and ICS each belongs to. */
  wards: readonly Ward[];
}

export interface SuppressedBundle {
  report: SuppressedFlowReport;
  monthly?: SuppressedPeriodReports;
  weekly?: SuppressedPeriodReports;
  plan?: SuppressedPlan;
}

/**
 * The report, its months, weeks and plan with the rule applied to all of them together, so that no
 * figure one withholds can be worked out from another: the same figure is withheld in every output.
 */
export function suppressReports(bundle: ReportBundle): SuppressedBundle {
  const report = copyReport(bundle.report);
  const cells = new Map(report.groups.map((g) => [keyOf(g), groupCells(g)]));
  const sums: Cell[][] = [];
  for (const g of report.groups) sums.push(...groupSums(g, cells.get(keyOf(g))!));
  sums.push(...hierarchySums(report, cells, bundle.wards));

  // Months and weeks: every figure of theirs is checked as the period's are, and the period's figures
  // are the sums of its months' (or weeks').
  const periodsOf = (reports: PeriodReports | undefined, minor = false) => {
    if (!reports) return undefined;
    const copy: SuppressedPeriodReports = { ...reports, periods: reports.periods.map((p) => ({ ...p, report: copyReport(p.report) })) };
    const periodCells = copy.periods.map((p) => {
      const byGroup = new Map(p.report.groups.map((g) => [keyOf(g), groupCells(g, minor)]));
      for (const g of p.report.groups) sums.push(...groupSums(g, byGroup.get(keyOf(g))!));
      sums.push(...hierarchySums(p.report, byGroup, bundle.wards));
      return byGroup;
    });
    for (const [key, whole] of cells) sums.push(...crossSums(whole, periodCells.map((c) => c.get(key))));
    return { copy, periodCells };
  };
  const monthly = periodsOf(bundle.monthly);
  const weekly = periodsOf(bundle.weekly, true);

  // A pathway's plan publishes its admissions as arrivals a day (days × rate gives them back), its
  // step-up admissions from ambulance and 111 the same way, and its completed spells.
  let plan: SuppressedPlan | undefined;
  const planCells: Array<{ p: SuppressedPathwayPlan; admitted: Cell; surgeable: Cell; completed: Cell }> = [];
  if (bundle.plan) {
    const source = structuredClone(bundle.plan.plan);
    plan = { ...source, pathways: source.pathways.map((p) => ({ ...p, suppressed: [] })), total: { ...source.total, suppressed: [] } } as unknown as SuppressedPlan;
    const basis = planBasis(bundle.plan.events, { from: new Date(bundle.report.from), to: new Date(bundle.report.to) });
    for (const p of plan.pathways) {
      const b = basis.get(p.pathway) ?? { admitted: 0, surgeable: 0, completed: 0 };
      const shadow = (value: number): Cell => ({ value, withheld: isSmall(value) });
      const published: Cells = new Map();
      counter(published, p)('completedSpells', p as unknown as Record<string, unknown>, 'completedSpells');
      const entry = { p, admitted: shadow(b.admitted), surgeable: shadow(b.surgeable), completed: published.get('completedSpells')! };
      planCells.push(entry);
      const group = cells.get(`pathway:${p.pathway}`);
      const admissions = group?.get('admissions.total');
      const spells = group?.get('lengthOfStayDays.spells');
      if (admissions) sums.push([entry.admitted, admissions]);
      if (spells) sums.push([entry.completed, spells]);
    }
  }

  secondary(sums);

  const write = (c: Cells) => {
    for (const cell of c.values()) if (cell.withheld) cell.write?.();
  };
  for (const g of report.groups) {
    const c = cells.get(keyOf(g))!;
    write(c);
    withholdDerived(g, c);
  }
  for (const set of [monthly, weekly]) {
    set?.copy.periods.forEach((p, i) => {
      for (const g of p.report.groups) {
        const c = set.periodCells[i]!.get(keyOf(g))!;
        write(c);
        withholdDerived(g, c);
      }
    });
  }
  if (plan) {
    for (const { p, admitted, surgeable, completed } of planCells) {
      const hide = (holder: Record<string, unknown>, key: string, path: string) => {
        if (holder[key] === null) return;
        holder[key] = null;
        p.suppressed.push(path);
      };
      const pp = p as unknown as Record<string, unknown>;
      if (completed.withheld) completed.write?.();
      if (admitted.withheld) hide(pp, 'arrivalsPerDay', 'arrivalsPerDay');
      if (surgeable.withheld) hide(pp, 'stepUpFromAmbulanceAnd111PerDay', 'stepUpFromAmbulanceAnd111PerDay');
      if (isSmall(completed.value)) hide(pp, 'meanStayDays', 'meanStayDays');
      if (admitted.withheld || surgeable.withheld) hide(p.surge, 'arrivalsPerDay', 'surge.arrivalsPerDay');
      // Offered load is arrivals × mean stay: either gives the other back (without a completed stay it
      // is 0, whatever the arrivals, and gives nothing back).
      if (completed.value > 0) {
        if (admitted.withheld || isSmall(completed.value)) hide(pp, 'offeredLoad', 'offeredLoad');
        if (admitted.withheld || surgeable.withheld || isSmall(completed.value)) hide(p.surge, 'offeredLoad', 'surge.offeredLoad');
      }
    }
    // A total of which one part is withheld would give it back.
    if (plan.pathways.some((p) => isWithheld(p, 'offeredLoad'))) {
      plan.total.offeredLoad = null;
      plan.total.suppressed.push('offeredLoad');
    }
    if (plan.pathways.some((p) => isWithheld(p, 'surge.offeredLoad'))) {
      plan.total.surgeOfferedLoad = null;
      plan.total.suppressed.push('surgeOfferedLoad');
    }
  }
  return { report, ...(monthly ? { monthly: monthly.copy } : {}), ...(weekly ? { weekly: weekly.copy } : {}), ...(plan ? { plan } : {}) };
}
