import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { PACKAGE_ROOT } from './package-root.ts';
import { parseYaml } from './yaml-file.ts';

/**
 * Configuration from an optional YAML file (VW_CONFIG) overlaid by environment variables. Every
 * setting has a default that runs the embedded demo; docs/configuration.md lists them all.
 */
/** Defaults name files shipped in the package, so `vw` works from any directory. */
export { PACKAGE_ROOT };

const Port = z.coerce.number().int().min(0).max(65535);
const Flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/** A path to a file vw must be able to read (a PEM certificate, key or CA bundle). */
const ReadableFile = z
  .string()
  .min(1)
  .refine(
    (path) => {
      try {
        accessSync(path, fsConstants.R_OK);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'cannot read the file: give the path of a readable PEM file' },
  );

/**
 * A map of names to URLs: `name=url;name=url` from the environment, or a mapping in the file.
 */
function urlMap(key: z.ZodString) {
  return z
    .union([
      z.string().transform((s, ctx) => {
        const out: Record<string, string> = {};
        for (const part of s.split(';').map((p) => p.trim()).filter(Boolean)) {
          const at = part.indexOf('=');
          if (at < 1) {
            ctx.addIssue({ code: 'custom', message: `"${part}" is not name=url` });
            return z.NEVER;
          }
          out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
        }
        return out;
      }),
      z.record(z.string(), z.string()),
    ])
    .pipe(z.record(key, z.url({ protocol: /^https?$/ })))
    .default({});
}

export const Config = z.object({
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Where the embedded default keeps what must outlast a run: the secrets not set in the environment
   * (src/config/data-dir.ts). Relative to the working directory; created with mode 0700 when needed.
   */
  dataDir: z.string().min(1).default('.vw-data').transform((dir) => resolve(dir)),
  /**
   * Whether the in-process bus and the in-memory store are kept in the data directory (bus/, store/),
   * so a crash loses nothing acknowledged. Off only for throwaway runs; Kafka and InfluxDB keep their own.
   */
  durable: Flag.default(true),
  /**
   * How far the heap may grow past what the last full garbage collection kept, in per cent
   * (src/observability/heap-growth.ts): keeps a long-running process's memory in proportion to what
   * it holds. 0 leaves V8's own sizing (up to about four times).
   */
  heapGrowthPercent: z.coerce.number().int().min(0).max(400).default(50),
  http: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: Port.default(8080),
      /** When set, GET /metrics asks for it as a bearer token (Prometheus: `authorization.credentials`). */
      metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
    })
    .prefault({}),
  /**
   * TLS for vw's own listeners: the console, APIs, /metrics and /feed (HTTPS, WSS) and the embedded
   * MQTT broker (MQTTS). Off unless both are set.
   */
  tls: z
    .object({
      certFile: ReadableFile.optional(),
      keyFile: ReadableFile.optional(),
    })
    .prefault({})
    .superRefine((t, ctx) => {
      if (t.certFile !== undefined && t.keyFile === undefined) ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'VW_TLS_CERT_FILE is set: set VW_TLS_KEY_FILE too (both or neither)' });
      if (t.keyFile !== undefined && t.certFile === undefined) ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'VW_TLS_KEY_FILE is set: set VW_TLS_CERT_FILE too (both or neither)' });
    }),
  mqtt: z
    .object({
      /** `embedded` starts an in-process broker; otherwise an mqtt:// or mqtts:// URL of an external broker. */
      url: z.union([z.literal('embedded'), z.url({ protocol: /^mqtts?$/ })]).default('embedded'),
      embeddedHost: z.string().default('127.0.0.1'),
      embeddedPort: Port.default(1883),
      username: z.string().optional(),
      password: z.string().optional(),
      clientId: z.string().default('vw-ingest'),
      /**
       * Provisioning secret from which each device's MQTT password is derived (Mosquitto's password
       * file, and the embedded broker, which keeps one in the data directory when this is unset).
       */
      deviceSecret: z.string().min(16, 'must be at least 16 characters').optional(),
      /** `$share/<group>/…`: ingest processes in one group split the device messages between them. */
      sharedGroup: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
      /** An external mqtts:// broker: CA certificates to trust (PEM), instead of the system's. */
      caFile: ReadableFile.optional(),
      /** An external mqtts:// broker asking for a client certificate (mutual TLS): both or neither. */
      clientCertFile: ReadableFile.optional(),
      clientKeyFile: ReadableFile.optional(),
    })
    .prefault({})
    .superRefine((m, ctx) => {
      const tlsFiles = { caFile: 'VW_MQTT_CA_FILE', clientCertFile: 'VW_MQTT_CLIENT_CERT_FILE', clientKeyFile: 'VW_MQTT_CLIENT_KEY_FILE' } as const;
      if (!m.url.startsWith('mqtts://')) {
        for (const [key, env] of Object.entries(tlsFiles)) {
          if (m[key as keyof typeof tlsFiles] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${env} applies only to an external mqtts:// broker: set VW_MQTT_URL=mqtts://… or unset it (the embedded broker uses VW_TLS_CERT_FILE)` });
        }
      }
      if (m.clientCertFile !== undefined && m.clientKeyFile === undefined) ctx.addIssue({ code: 'custom', path: ['clientKeyFile'], message: 'VW_MQTT_CLIENT_CERT_FILE is set: set VW_MQTT_CLIENT_KEY_FILE too (both or neither)' });
      if (m.clientKeyFile !== undefined && m.clientCertFile === undefined) ctx.addIssue({ code: 'custom', path: ['clientCertFile'], message: 'VW_MQTT_CLIENT_KEY_FILE is set: set VW_MQTT_CLIENT_CERT_FILE too (both or neither)' });
    }),
  bus: z
    .object({
      kind: z.enum(['memory', 'kafka']).default('memory'),
      partitions: z.coerce.number().int().min(1).max(1024).default(8),
    })
    .prefault({}),
  kafka: z
    .object({
      brokers: z
        .string()
        .default('127.0.0.1:9092')
        .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean)),
      clientId: z.string().default('vw'),
      /** Prefixed to topic and consumer-group names, to share one cluster between environments. */
      prefix: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
      replicationFactor: z.coerce.number().int().min(1).default(1),
      /** min.insync.replicas of the topics vw creates (at most the replication factor); unset, the brokers' default applies. */
      minInsyncReplicas: z.coerce.number().int().min(1).optional(),
      /** Connect to the brokers over TLS. */
      ssl: Flag.default(false),
      /** With ssl: CA certificates to trust (PEM), instead of the system's. */
      caFile: ReadableFile.optional(),
      /** SASL authentication; needs a username and a password (neither has a default). */
      saslMechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
      saslUsername: z.string().min(1).optional(),
      saslPassword: z.string().min(1).optional(),
    })
    .prefault({})
    .superRefine((k, ctx) => {
      if (k.minInsyncReplicas !== undefined && k.minInsyncReplicas > k.replicationFactor) {
        ctx.addIssue({ code: 'custom', path: ['minInsyncReplicas'], message: `${k.minInsyncReplicas} is more than the replication factor (${k.replicationFactor}): no write could ever be acknowledged; set VW_KAFKA_REPLICATION_FACTOR too` });
      }
      if (k.caFile !== undefined && !k.ssl) ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'VW_KAFKA_CA_FILE needs VW_KAFKA_SSL=true' });
      if (k.saslMechanism !== undefined) {
        if (k.saslUsername === undefined) ctx.addIssue({ code: 'custom', path: ['saslUsername'], message: `VW_KAFKA_SASL_MECHANISM=${k.saslMechanism} needs VW_KAFKA_SASL_USERNAME` });
        if (k.saslPassword === undefined) ctx.addIssue({ code: 'custom', path: ['saslPassword'], message: `VW_KAFKA_SASL_MECHANISM=${k.saslMechanism} needs VW_KAFKA_SASL_PASSWORD` });
      } else if (k.saslUsername !== undefined || k.saslPassword !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['saslMechanism'], message: 'a SASL username or password is set: set VW_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)' });
      }
    }),
  store: z
    .object({
      kind: z.enum(['memory', 'influxdb']).default('memory'),
      retentionHours: z.coerce.number().positive().default(72),
      maxPointsPerSeries: z.coerce.number().int().positive().default(20_000),
      /** In-memory store only: all points held; each series gets an even share (src/store/memory-store.ts). */
      maxPoints: z.coerce.number().int().positive().default(300_000),
    })
    .prefault({}),
  influx: z
    .object({
      url: z.url().default('http://127.0.0.1:8086'),
      /** InfluxDB 2.x: an API token. InfluxDB 1.8: `user:password`. */
      token: z.string().default(''),
      /** InfluxDB 2.x organisation; ignored by 1.8 (use `-`). */
      org: z.string().default('-'),
      /** InfluxDB 2.x bucket, or `database/retention-policy` on 1.8. */
      bucket: z.string().default('vitals'),
      batchSize: z.coerce.number().int().positive().default(500),
      maxBufferPoints: z.coerce.number().int().positive().default(50_000),
      retryAttempts: z.coerce.number().int().positive().default(5),
      /** With an https URL: CA certificates to trust (PEM), instead of the system's. */
      caFile: ReadableFile.optional(),
    })
    .prefault({})
    .superRefine((i, ctx) => {
      if (i.caFile !== undefined && !i.url.startsWith('https://')) ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'VW_INFLUX_CA_FILE applies to an https:// VW_INFLUX_URL only' });
    }),
  registry: z.object({ seedsFile: z.string().default(join(PACKAGE_ROOT, 'seeds', 'demo-ward.yaml')) }).prefault({}),
  rules: z
    .object({
      dir: z.string().default(join(PACKAGE_ROOT, 'rules')),
      /**
       * The rules timers' time: `wall` on a ward; `readings` (the newest reading's event time) for a
       * rehearsal at many times real speed. Unset: `readings` when the demo's simulator runs faster than
       * real time, otherwise `wall`.
       */
      clock: z.enum(['wall', 'readings']).optional(),
    })
    .prefault({}),
  feed: z
    .object({
      /** HMAC secret for console tokens; when unset, one kept in the data directory (generated once). */
      tokenSecret: z.string().min(32, 'must be at least 32 characters').optional(),
      tokenIssuer: z.string().default('vw'),
      /** Seconds a console has to send its hello frame before it is disconnected. */
      helloTimeoutSeconds: z.coerce.number().positive().default(10),
    })
    .prefault({}),
  capacity: z
    .object({
      /** Secret from which each capacity source's token is derived; when unset, one kept in the data directory. */
      secret: z.string().min(16, 'must be at least 16 characters').optional(),
      /** A snapshot older than this is shown as stale on consoles, never as now. */
      staleMinutes: z.coerce.number().positive().default(30),
    })
    .prefault({}),
  referrals: z
    .object({
      /**
       * Where each route's referrals are sent: `route=url;route=url` (environment) or a mapping of
       * route to url (file). A route without one keeps its referrals as not sent.
       */
      endpoints: urlMap(z.string().regex(/^[a-z0-9-]+$/, 'a route id from rules/referral-routes.yaml')),
      /** Bearer token sent to every receiver, when set. */
      token: z.string().min(16, 'must be at least 16 characters').optional(),
      /** Token receiving services present to post their later answers (POST /api/v1/referrals/{id}/response). */
      callbackToken: z.string().min(16, 'must be at least 16 characters').optional(),
      /** Seconds to wait for a receiver's answer before trying again later. */
      timeoutSeconds: z.coerce.number().positive().default(10),
    })
    .prefault({}),
  notify: z
    .object({
      /**
       * Webhooks per person or role named in the rules' escalation ladders (`notify:`), e.g.
       * `virtual ward consultant=https://pager.example/hooks/vw`. A target without one is told on the console only.
       */
      webhooks: urlMap(z.string().min(1).max(200)),
      /** HMAC key signing every webhook (header vw-signature); required once any webhook is set. */
      secret: z.string().min(16, 'must be at least 16 characters').optional(),
      /** Who is told when a notification cannot be delivered. */
      fallback: z.string().min(1).default('virtual ward clinical lead'),
      /** Minutes of failed attempts before a notification is given up and escalated to the fallback. */
      giveUpMinutes: z.coerce.number().positive().default(5),
    })
    .prefault({})
    .refine((n) => Object.keys(n.webhooks).length === 0 || n.secret !== undefined, { message: 'VW_NOTIFY_SECRET must be set to sign webhooks', path: ['secret'] }),
  ingest: z
    .object({
      maxPayloadBytes: z.coerce.number().int().positive().default(256 * 1024),
      maxFutureSkewSeconds: z.coerce.number().nonnegative().default(300),
      maxAgeHours: z.coerce.number().positive().default(24 * 7),
      /** Items (readings, samples, observations) one payload may carry; more and the whole payload is refused. */
      maxItemsPerPayload: z.coerce.number().int().positive().default(2_000),
      /** Dead letters kept per device per minute; the device's further refusals that minute are counted only. */
      deadLettersPerDeviceMinute: z.coerce.number().int().nonnegative().default(20),
    })
    .prefault({}),
  simulator: z
    .object({
      enabled: Flag.default(false),
      scenarioFile: z.string().default(join(PACKAGE_ROOT, 'simulators', 'scenarios', 'demo.yaml')),
    })
    .prefault({}),
});
export type Config = z.infer<typeof Config>;

/** Each environment variable and the setting it overrides. */
export const ENV_SETTINGS: Record<string, string> = {
  VW_LOG_LEVEL: 'logLevel',
  VW_DATA_DIR: 'dataDir',
  VW_DURABLE: 'durable',
  VW_HEAP_GROWTH_PERCENT: 'heapGrowthPercent',
  VW_RULES_CLOCK: 'rules.clock',
  VW_HTTP_HOST: 'http.host',
  VW_HTTP_PORT: 'http.port',
  VW_METRICS_TOKEN: 'http.metricsToken',
  VW_MQTT_URL: 'mqtt.url',
  VW_MQTT_EMBEDDED_HOST: 'mqtt.embeddedHost',
  VW_MQTT_EMBEDDED_PORT: 'mqtt.embeddedPort',
  VW_MQTT_USERNAME: 'mqtt.username',
  VW_MQTT_PASSWORD: 'mqtt.password',
  VW_MQTT_CLIENT_ID: 'mqtt.clientId',
  VW_MQTT_DEVICE_SECRET: 'mqtt.deviceSecret',
  VW_MQTT_SHARED_GROUP: 'mqtt.sharedGroup',
  VW_MQTT_CA_FILE: 'mqtt.caFile',
  VW_MQTT_CLIENT_CERT_FILE: 'mqtt.clientCertFile',
  VW_MQTT_CLIENT_KEY_FILE: 'mqtt.clientKeyFile',
  VW_TLS_CERT_FILE: 'tls.certFile',
  VW_TLS_KEY_FILE: 'tls.keyFile',
  VW_BUS: 'bus.kind',
  VW_BUS_PARTITIONS: 'bus.partitions',
  VW_KAFKA_BROKERS: 'kafka.brokers',
  VW_KAFKA_CLIENT_ID: 'kafka.clientId',
  VW_KAFKA_PREFIX: 'kafka.prefix',
  VW_KAFKA_REPLICATION_FACTOR: 'kafka.replicationFactor',
  VW_KAFKA_MIN_INSYNC_REPLICAS: 'kafka.minInsyncReplicas',
  VW_KAFKA_SSL: 'kafka.ssl',
  VW_KAFKA_CA_FILE: 'kafka.caFile',
  VW_KAFKA_SASL_MECHANISM: 'kafka.saslMechanism',
  VW_KAFKA_SASL_USERNAME: 'kafka.saslUsername',
  VW_KAFKA_SASL_PASSWORD: 'kafka.saslPassword',
  VW_STORE: 'store.kind',
  VW_STORE_RETENTION_HOURS: 'store.retentionHours',
  VW_STORE_MAX_POINTS_PER_SERIES: 'store.maxPointsPerSeries',
  VW_STORE_MAX_POINTS: 'store.maxPoints',
  VW_INFLUX_URL: 'influx.url',
  VW_INFLUX_CA_FILE: 'influx.caFile',
  VW_INFLUX_TOKEN: 'influx.token',
  VW_INFLUX_ORG: 'influx.org',
  VW_INFLUX_BUCKET: 'influx.bucket',
  VW_INFLUX_BATCH_SIZE: 'influx.batchSize',
  VW_INFLUX_MAX_BUFFER_POINTS: 'influx.maxBufferPoints',
  VW_INFLUX_RETRY_ATTEMPTS: 'influx.retryAttempts',
  VW_SEEDS: 'registry.seedsFile',
  VW_RULES_DIR: 'rules.dir',
  VW_FEED_TOKEN_SECRET: 'feed.tokenSecret',
  VW_FEED_TOKEN_ISSUER: 'feed.tokenIssuer',
  VW_FEED_HELLO_TIMEOUT_SECONDS: 'feed.helloTimeoutSeconds',
  VW_CAPACITY_SECRET: 'capacity.secret',
  VW_CAPACITY_STALE_MINUTES: 'capacity.staleMinutes',
  VW_REFERRAL_ENDPOINTS: 'referrals.endpoints',
  VW_REFERRAL_TOKEN: 'referrals.token',
  VW_REFERRAL_TIMEOUT_SECONDS: 'referrals.timeoutSeconds',
  VW_REFERRAL_CALLBACK_TOKEN: 'referrals.callbackToken',
  VW_NOTIFY_WEBHOOKS: 'notify.webhooks',
  VW_NOTIFY_SECRET: 'notify.secret',
  VW_NOTIFY_FALLBACK: 'notify.fallback',
  VW_NOTIFY_GIVE_UP_MINUTES: 'notify.giveUpMinutes',
  VW_INGEST_MAX_PAYLOAD_BYTES: 'ingest.maxPayloadBytes',
  VW_INGEST_MAX_ITEMS_PER_PAYLOAD: 'ingest.maxItemsPerPayload',
  VW_INGEST_DEAD_LETTERS_PER_DEVICE_MINUTE: 'ingest.deadLettersPerDeviceMinute',
  VW_INGEST_MAX_FUTURE_SKEW_SECONDS: 'ingest.maxFutureSkewSeconds',
  VW_INGEST_MAX_AGE_HOURS: 'ingest.maxAgeHours',
  VW_SIMULATOR: 'simulator.enabled',
  VW_SIMULATOR_SCENARIO: 'simulator.scenarioFile',
};

// Kept in errors.ts so the CLI can recognise it without loading the configuration schema.
export { ConfigError };

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

const settingToEnv = Object.fromEntries(Object.entries(ENV_SETTINGS).map(([env, path]) => [path, env]));

/**
 * Builds the configuration. `overrides` (used by the CLI and tests) win over the environment, which
 * wins over the file. Errors name both the setting and the variable that sets it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Config {
  let raw: Record<string, unknown> = {};
  const file = env.VW_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`VW_CONFIG=${file}: cannot read the file (${(error as Error).message})`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(`VW_CONFIG=${file}`, text);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (parsed !== null && typeof parsed !== 'object') throw new ConfigError(`VW_CONFIG=${file}: expected a YAML mapping`);
    raw = (parsed ?? {}) as Record<string, unknown>;
  }
  for (const [name, path] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, value);
  }
  for (const [path, value] of Object.entries(overrides)) setPath(raw, path, value);
  const result = Config.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const envName = settingToEnv[path];
      return `  ${path}${envName ? ` (${envName})` : ''}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The PEM files a configured set of paths names, read now (each was checked readable at load). */
export function readPemFiles<K extends string>(paths: Partial<Record<K, string | undefined>>): Partial<Record<K, Buffer>> {
  const out: Partial<Record<K, Buffer>> = {};
  for (const [key, path] of Object.entries(paths) as Array<[K, string | undefined]>) {
    if (path !== undefined) out[key] = readFileSync(path);
  }
  return out;
}

/** vw's own listeners' certificate and key (HTTPS, MQTTS), or undefined when TLS is off. */
export function serverTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  const { certFile, keyFile } = config.tls;
  return certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
}
