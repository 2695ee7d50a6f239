import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that may hold patient data if a record is ever logged whole. Logs carry ids and counts, not
 * values or names, and pino's redaction is the backstop for mistakes.
 */
export const REDACTED_PATHS = [
  '*.displayName',
  '*.nhsNumber',
  '*.dateOfBirth',
  '*.value',
  '*.payload',
  '*.payloadBase64',
  '*.token',
  'token',
  'payload',
  'reading.value',
  'readings[*].value',
  'patient',
  'req.headers.authorization',
];

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const config: LoggerOptions = {
    name: options.name ?? 'vw',
    level: options.level ?? process.env.VW_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return options.destination ? pino(config, options.destination as never) : pino(config);
}
