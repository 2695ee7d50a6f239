import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BusEvents } from '../bus/events.ts';
import { ConfigError, PACKAGE_ROOT, serverTls, type Config } from '../config/config.ts';
import { persistentSecret } from '../config/data-dir.ts';
import { createTokenAuthority, type TokenAuthority } from '../feed/auth.ts';
import { startFeedRole } from '../feed/feed-role.ts';
import { chartBands } from '../feed/chart-bands.ts';
import { startHttpServer, type HealthCheck } from '../http/http-server.ts';
import { startIngestRole } from '../ingest/ingest-role.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { applyHeapGrowth } from '../observability/heap-growth.ts';
import { createMetrics, registerHeldGauges, type Metrics } from '../observability/metrics.ts';
import { loadRegistryFile } from '../registry/load.ts';
import type { Registry } from '../registry/registry.ts';
import { loadNews2Rule } from '../rules/news2/rule-file.ts';
import { loadRulePacks } from '../rules/engine/pack-file.ts';
import { startRulesRole } from '../rules/rules-role.ts';
import { startSinkRole } from '../store/sink-role.ts';
import { createBus, createStore, deviceMessageSource } from './adapters.ts';
import type { Bus } from '../bus/bus.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import { createCapacityCredentials, type CapacityCredentials } from '../capacity/credentials.ts';
import { createCapacityEdge } from '../capacity/edge.ts';
import { capacityApi } from '../capacity/http-api.ts';
import type { ApiRoute } from '../http/api.ts';
import { createRouteCatalogue, loadReferralRoutes, ROUTES_FILE } from '../referrals/routes-file.ts';
import { startReferralsRole } from '../referrals/referrals-role.ts';
import { referralCallbackApi } from '../referrals/callback-api.ts';
import { createFlowView } from '../flow/flow-view.ts';
import { createFlowIntake, flowApi } from '../flow/http-api.ts';
import { fhirEncounterApi } from '../flow/fhir-encounter-api.ts';
import { followFlow } from '../registry/follow-flow.ts';
import { reportsApi } from '../reports/http-api.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { startNotifyRole } from '../notify/notify-role.ts';

export const ROLES = ['ingest', 'rules', 'sink', 'feed', 'referrals', 'notify'] as const;
export type Role = (typeof ROLES)[number];

export interface VwApp {
  config: Config;
  httpUrl: string;
  /** The broker ingest is connected to (the embedded one's URL when embedded). */
  mqttUrl: string;
  bus: Bus;
  store: TimeSeriesStore;
  registry: Registry;
  metrics: Metrics;
  tokens: TokenAuthority;
  /** Capacity sources' tokens (HTTP bearer, MQTT password). */
  capacityCredentials: CapacityCredentials;
  /**
   * The provisioning secret devices' MQTT passwords derive from (`devicePassword(secret, deviceId)`):
   * VW_MQTT_DEVICE_SECRET, or on the embedded broker the one kept in the data directory. Undefined
   * when neither applies (no ingest here, or an external broker without VW_MQTT_DEVICE_SECRET).
   */
  deviceSecret: string | undefined;
  /**
   * In-process checks on the embedded broker (only with it): the topics of retained messages it holds
   * (it keeps none), and the messages it accepts (no client may subscribe to them).
   */
  embeddedBroker?: { retainedTopics(filter?: string): Promise<string[]>; observe(filter: string, onMessage: (topic: string, payload: Buffer) => void): () => Promise<void> };
  logger: Logger;
  close(): Promise<void>;
}

const CONSOLE_DIR = join(PACKAGE_ROOT, 'dashboards', 'console');
/** The console's chart library, served from the installed package rather than copied into the repository. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const CONSOLE_VENDOR_FILES = {
  '/vendor/uPlot.iife.min.js': join(UPLOT_DIR, 'uPlot.iife.min.js'),
  '/vendor/uPlot.min.css': join(UPLOT_DIR, 'uPlot.min.css'),
};

/**
 * Starts the configured roles in this process, around one bus, store and HTTP server. With every
 * role and the embedded defaults this is the whole of vw in one process.
 */
export async function startVw(config: Config, options: { roles?: readonly Role[]; logger?: Logger } = {}): Promise<VwApp> {
  const roles = new Set(options.roles ?? ROLES);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const heap = applyHeapGrowth(config.heapGrowthPercent);
  logger.info(heap.applied ? { heapGrowthPercent: heap.percent } : { heapGrowth: heap.reason }, 'heap sizing');
  const metrics = createMetrics();
  const busEvents = new BusEvents();
  busEvents.on('handler.failed', ({ groupId, topic, partition, offset, attempt, error }) => {
    metrics.busHandlerFailures.inc({ group: groupId });
    logger.warn({ err: error, groupId, topic, partition, offset, attempt }, 'bus handler failed; retrying');
  });
  busEvents.on('record.poison', ({ groupId, error }) => {
    metrics.busPoisonRecords.inc({ group: groupId });
    logger.error({ groupId, err: error }, 'skipped a record that does not match its topic schema');
  });
  busEvents.on('retention.skipped', (event) => logger.error(event, 'records expired before the group consumed them'));
  busEvents.on('producer.replaced', (event) => logger.warn(event, 'Kafka producer replaced: the broker refused its sequence numbers; unacknowledged records are sent again'));

  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => logger.error({ err: error }, 'error during shutdown'));
    }
  };

  try {
    const { registry } = await loadRegistryFile(config.registry.seedsFile);
    const bus = await createBus(config, busEvents, logger);
    stops.push(() => bus.close());
    const store = await createStore(config, metrics, logger);
    stops.push(() => store.close());
    registerHeldGauges(metrics, { bus, store });

    // Secrets not set in the environment are kept in the data directory, generated on the first run,
    // so tokens and device passwords outlast a restart. A role that never uses one keeps none.
    let secret = config.feed.tokenSecret;
    if (!secret) {
      if (roles.has('feed')) {
        const kept = await persistentSecret(config.dataDir, 'feed-token-secret');
        secret = kept.value;
        logger.warn({ file: kept.file }, `VW_FEED_TOKEN_SECRET is not set: console tokens are signed with the key ${kept.created ? 'generated and ' : ''}kept in ${kept.file}`);
      } else {
        // No consoles here: nothing is signed or checked with it.
        secret = randomBytes(32).toString('base64url');
      }
    }
    const tokens = createTokenAuthority({ secret, issuer: config.feed.tokenIssuer });
    let capacitySecret = config.capacity.secret;
    if (!capacitySecret) {
      if (roles.has('ingest') && registry.capacitySources().length) {
        const kept = await persistentSecret(config.dataDir, 'capacity-secret');
        capacitySecret = kept.value;
        logger.warn({ file: kept.file }, `VW_CAPACITY_SECRET is not set: capacity sources' tokens are derived from the key ${kept.created ? 'generated and ' : ''}kept in ${kept.file}`);
      } else {
        // No capacity source can sign in here: no token derived from it is ever given out.
        capacitySecret = randomBytes(32).toString('base64url');
      }
    }
    let deviceSecret = roles.has('ingest') ? config.mqtt.deviceSecret : undefined;
    const embeddedDevices = async () => {
      if (!deviceSecret) {
        const kept = await persistentSecret(config.dataDir, 'device-secret');
        deviceSecret = kept.value;
        logger.info({ file: kept.file }, `VW_MQTT_DEVICE_SECRET is not set: devices' MQTT passwords derive from the secret ${kept.created ? 'generated and ' : ''}kept in ${kept.file} (vw device-password --device ID)`);
      }
      return { secret: deviceSecret, registered: (deviceId: string) => registry.device(deviceId) !== undefined };
    };
    const capacityCredentials = createCapacityCredentials(capacitySecret, registry.capacitySources());
    const apiRoutes: ApiRoute[] = [];
    const health: HealthCheck[] = [
      { name: 'bus', ok: () => bus.healthy() },
      { name: 'store', ok: () => store.healthy() },
    ];

    // Admissions, discharges and transfers come in with the consoles' role: it holds who may make them.
    // Its view of who is on which ward starts from the seeds' enrolments, before the flow is applied.
    const flowView = roles.has('feed') ? createFlowView() : undefined;
    if (flowView) {
      const now = new Date();
      for (const ward of registry.wards()) {
        for (const patient of registry.patientsOfWard(ward.wardId, now)) {
          flowView.seed(patient.patientId, ward.wardId, registry.pathwaysOf(patient.patientId, now)[0] ?? 'general', now.toISOString());
        }
      }
    }
    // Device enrolments follow admissions and discharges in every role that maps or lists patients.
    const flowFollower = await followFlow(bus, registry, flowView ? [(event) => void flowView.apply(event)] : []);
    stops.push(() => flowFollower.stop());

    if (roles.has('sink')) {
      const sink = await startSinkRole({ bus, store, metrics, logger, batchSize: config.influx.batchSize });
      stops.push(sink.stop);
    }
    if (roles.has('rules')) {
      const news2 = await loadNews2Rule(join(config.rules.dir, 'news2.yaml'));
      const packs = await loadRulePacks(config.rules.dir);
      // A bus that ends with the process (the in-process one, not durable) needs no rule state
      // changelog: no other process can take a patient over, and no restart reads it back.
      const rules = await startRulesRole({ bus, registry, news2, packs, metrics, logger, partitions: config.bus.partitions, changelog: config.bus.kind !== 'memory' || config.durable, clock: config.rules.clock ?? 'wall' });
      stops.push(rules.stop);
    }
    const referralRoutes = roles.has('feed') || roles.has('referrals') ? createRouteCatalogue(await loadReferralRoutes(join(config.rules.dir, ROUTES_FILE))) : undefined;
    if (roles.has('referrals')) {
      const endpoints = Object.fromEntries(
        Object.entries(config.referrals.endpoints).map(([route, url]) => {
          if (!referralRoutes!.route(route)) throw new Error(`VW_REFERRAL_ENDPOINTS names route ${route}, which ${ROUTES_FILE} does not define`);
          return [route, { url, ...(config.referrals.token ? { token: config.referrals.token } : {}) }];
        }),
      );
      const referrals = await startReferralsRole({
        bus,
        registry,
        routes: referralRoutes!,
        endpoints,
        sourceEndpoint: `${config.tls.certFile ? 'https' : 'http'}://${config.http.host}:${config.http.port}`,
        metrics,
        logger,
        partitions: config.bus.partitions,
        timeoutMs: config.referrals.timeoutSeconds * 1000,
      });
      stops.push(referrals.stop);
      if (config.referrals.callbackToken) apiRoutes.push(referralCallbackApi({ bus, token: config.referrals.callbackToken, referral: referrals.referral, logger }));
    }
    if (roles.has('notify')) {
      // A misspelt role would leave its people told on the console only: refuse it at start instead.
      const news2Rule = await loadNews2Rule(join(config.rules.dir, 'news2.yaml'));
      const targets = new Set([
        config.notify.fallback,
        ...(await loadRulePacks(config.rules.dir)).flatMap((p) => p.rules.flatMap((r) => r.escalation.map((e) => e.notify))),
        ...Object.values(news2Rule.localPolicy?.escalation ?? {}).flatMap((steps) => steps.map((step) => step.notify)),
      ]);
      for (const name of Object.keys(config.notify.webhooks)) {
        if (!targets.has(name)) throw new ConfigError(`VW_NOTIFY_WEBHOOKS names "${name}", whom no escalation ladder in ${config.rules.dir} notifies (known: ${[...targets].sort().join('; ')})`);
      }
      const notify = await startNotifyRole({
        bus,
        registry,
        webhooks: config.notify.webhooks,
        ...(config.notify.secret ? { secret: config.notify.secret } : {}),
        fallback: config.notify.fallback,
        giveUpMs: config.notify.giveUpMinutes * 60_000,
        metrics,
        logger,
        partitions: config.bus.partitions,
      });
      stops.push(notify.stop);
    }
    const feed = roles.has('feed')
      ? await startFeedRole({
          bus,
          store,
          registry,
          tokens,
          metrics,
          logger,
          helloTimeoutMs: config.feed.helloTimeoutSeconds * 1000,
          capacityStaleSeconds: config.capacity.staleMinutes * 60,
          routes: referralRoutes!,
          chartBands: chartBands(await loadNews2Rule(join(config.rules.dir, 'news2.yaml'))),
        })
      : undefined;
    if (flowView) {
      const flowIntake = createFlowIntake({ bus, registry, view: flowView, logger });
      apiRoutes.push(flowApi({ intake: flowIntake, tokens }));
      apiRoutes.push(fhirEncounterApi({ intake: flowIntake, tokens }));
      apiRoutes.push(reportsApi({ store, registry, tokens, logger }));
    }
    // The capacity edge sits with ingest: both are where the outside world comes in.
    const capacityEdge = createCapacityEdge({ bus, metrics, logger, maxFutureSkewMs: config.ingest.maxFutureSkewSeconds * 1000 });
    if (roles.has('ingest')) apiRoutes.push(capacityApi({ edge: capacityEdge, credentials: capacityCredentials, logger }));
    const http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      logger,
      metrics: metrics.registry,
      ...(config.http.metricsToken ? { metricsToken: config.http.metricsToken } : {}),
      ...(config.tls.certFile ? { tls: serverTls(config)! } : {}),
      health,
      routes: apiRoutes,
      ...(feed ? { consoleDir: CONSOLE_DIR, plannerDir: join(CONSOLE_DIR, '..', 'planner'), extraFiles: CONSOLE_VENDOR_FILES, onFeedUpgrade: feed.handleUpgrade } : {}),
    });
    stops.push(http.close);
    if (feed) stops.push(feed.stop);

    let mqttUrl = '';
    let embeddedBroker: VwApp['embeddedBroker'];
    if (roles.has('ingest')) {
      const { url, source, close: closeBroker, connected: capacityConnected, embedded } = await deviceMessageSource(config, logger, { credentials: capacityCredentials, edge: capacityEdge }, embeddedDevices);
      stops.push(closeBroker);
      mqttUrl = url;
      if (embedded) embeddedBroker = embedded;
      const ingest = await startIngestRole({
        bus,
        registry,
        metrics,
        logger,
        source,
        limits: {
          maxPayloadBytes: config.ingest.maxPayloadBytes,
          maxFutureSkewMs: config.ingest.maxFutureSkewSeconds * 1000,
          maxAgeMs: config.ingest.maxAgeHours * 3_600_000,
          maxItemsPerPayload: config.ingest.maxItemsPerPayload,
        },
        refusals: { deadLettersPerDevice: config.ingest.deadLettersPerDeviceMinute, windowMs: 60_000 },
      });
      stops.push(ingest.stop);
      health.push({ name: 'mqtt', ok: () => ingest.connected() && capacityConnected() });
    }
    logger.info({ roles: [...roles], http: http.url }, 'vw started');
    return { config, httpUrl: http.url, mqttUrl, bus, store, registry, metrics, tokens, capacityCredentials, deviceSecret, ...(embeddedBroker ? { embeddedBroker } : {}), logger, close };
  } catch (error) {
    await close();
    throw error;
  }
}
