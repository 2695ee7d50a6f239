import type { Pathway, RegistryData } from '../src/domain/index.ts';
import { mulberry32 } from './rng.ts';

/**
 * Patients coming and going on the demo's wards: now and then a ward lead admits a new patient (step-up
 * or step-down, from a source), and discharges one admitted earlier, through vw's flow API with the
 * ward lead's token, as a ward would. Deterministic for a seed.
 */
const SOURCES = ['gp', 'nhs111', 'ambulance', 'ed-sdec'] as const;
const OUTCOMES = ['care-completed', 'care-completed', 'care-completed', 'care-completed', 'care-completed', 'care-completed', 'admitted-acute', 'self-discharged'] as const;

export function startFlowFeed(options: {
  baseUrl: string;
  token: string;
  registry: RegistryData;
  /** Real milliseconds between one ward event and the next. */
  everyMs: number;
  seed?: number;
  onError?: (error: unknown) => void;
  /**
   * Patients this feed admitted in an earlier run who are still on a ward (the data directory kept
   * them), to be discharged in turn; and whether a patient id is taken, so new admissions get new ids.
   */
  earlier?: { onWard: Array<{ patientId: string; wardId: string }>; taken(patientId: string): boolean };
}) {
  const next = mulberry32(options.seed ?? 7);
  const wards = options.registry.wards;
  const pathwayOf = new Map<string, Pathway>();
  for (const e of options.registry.enrolments) if (!pathwayOf.has(e.wardId)) pathwayOf.set(e.wardId, e.pathway);
  const onWard: Array<{ patientId: string; wardId: string }> = [...(options.earlier?.onWard ?? [])];
  let admitted = 0;
  const newPatientId = () => {
    let id: string;
    do id = `pt-flow-${String(++admitted).padStart(4, '0')}`;
    while (options.earlier?.taken(id));
    return id;
  };
  const post = async (body: unknown): Promise<void> => {
    const response = await fetch(`${options.baseUrl}/api/v1/flow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 202) throw new Error(`flow API answered ${response.status}: ${await response.text()}`);
  };
  const step = async () => {
    const at = new Date().toISOString();
    // Admit a little more often than discharge until a handful are on the wards, then keep them level.
    if (onWard.length < 4 || next() < 0.5) {
      const ward = wards[Math.floor(next() * wards.length)]!;
      const patientId = newPatientId();
      const stepDown = next() < 0.3;
      await post({
        kind: 'admit',
        patientId,
        wardId: ward.wardId,
        pathway: pathwayOf.get(ward.wardId) ?? 'general',
        admission: stepDown ? 'step-down' : 'step-up',
        source: stepDown ? 'acute-discharge' : SOURCES[Math.floor(next() * SOURCES.length)]!,
        imdDecile: 1 + Math.floor(next() * 10),
        at,
      });
      onWard.push({ patientId, wardId: ward.wardId });
    } else {
      const [leaving] = onWard.splice(Math.floor(next() * onWard.length), 1);
      await post({ kind: 'discharge', patientId: leaving!.patientId, wardId: leaving!.wardId, outcome: OUTCOMES[Math.floor(next() * OUTCOMES.length)]!, at });
    }
  };
  const timer = setInterval(() => void step().catch((error: unknown) => options.onError?.(error)), options.everyMs);
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
    },
  };
}
