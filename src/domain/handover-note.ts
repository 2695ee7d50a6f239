import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/**
 * A handover note about a patient, written by a clinician on the console: what the next shift needs to
 * know. Notes are never edited or deleted; a correction is a new note. The topic they travel on keeps
 * every note, with who wrote it and when: the audit trail.
 */
export const HandoverNote = z.object({
  noteId: z.string().min(1).max(64),
  patientId: z.string(),
  wardId: z.string(),
  text: z.string().trim().min(1).max(2000),
  by: z.string().min(1),
  at: IsoTimestamp,
});
export type HandoverNote = z.infer<typeof HandoverNote>;
