import { z } from 'zod';

/**
 * Ids travel in MQTT topics, Kafka keys, InfluxDB tags and URLs: one safe alphabet for all of them.
 * They are opaque, never an NHS number or a name.
 */
export const Id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'ids are 1-64 of A-Z a-z 0-9 . _ -');

export const Pathway = z.enum(['ari', 'frailty', 'heart-failure', 'hypertension', 'post-op', 'copd', 'general']);
export type Pathway = z.infer<typeof Pathway>;
