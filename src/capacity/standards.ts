import { z } from 'zod';

/**
 * National standards the console colours capacity against (docs/capacity.md). Green meets the
 * standard; amber is past it; red is past `red`. Sources: Ambulance Response Programme, handover
 * standard and Release to Rescue, NHS 111 call standards, UCR 2-hour standard.
 */
export const CapacityStandard = z.object({
  measure: z.string(),
  label: z.string(),
  unit: z.string(),
  /** `max`: lower is better (a wait); `min`: higher is better (a share answered). */
  kind: z.enum(['max', 'min']),
  standard: z.number(),
  red: z.number(),
  source: z.string(),
});
export type CapacityStandard = z.infer<typeof CapacityStandard>;

export const CAPACITY_STANDARDS: CapacityStandard[] = [
  { measure: 'c1.mean', label: 'C1 mean', unit: 'min', kind: 'max', standard: 7, red: 10, source: 'Ambulance Response Programme: C1 mean 7 min' },
  { measure: 'c1.p90', label: 'C1 90th centile', unit: 'min', kind: 'max', standard: 15, red: 20, source: 'Ambulance Response Programme: C1 90th centile 15 min' },
  { measure: 'c2.mean', label: 'C2 mean', unit: 'min', kind: 'max', standard: 18, red: 30, source: 'Ambulance Response Programme: C2 mean 18 min (30 min the 2025/26 ambition)' },
  { measure: 'c2.p90', label: 'C2 90th centile', unit: 'min', kind: 'max', standard: 40, red: 60, source: 'Ambulance Response Programme: C2 90th centile 40 min' },
  { measure: 'handover.mean', label: 'Handover mean', unit: 'min', kind: 'max', standard: 15, red: 45, source: 'Hospital handover standard 15 min; crews released by 45 min (Release to Rescue)' },
  { measure: 'nhs111.answered60', label: '111 answered in 60 s', unit: '%', kind: 'min', standard: 95, red: 80, source: 'NHS 111: 95% of calls answered within 60 s' },
  { measure: 'nhs111.abandoned', label: '111 abandoned', unit: '%', kind: 'max', standard: 5, red: 10, source: 'NHS 111: under 5% of calls abandoned after 30 s' },
  { measure: 'nhs111.callback20', label: '111 call-back in 20 min', unit: '%', kind: 'min', standard: 75, red: 50, source: 'Local standard: clinical call-backs within 20 min (no national standard)' },
];
