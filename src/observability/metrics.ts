import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metrics every role exposes on GET /metrics. One registry per process (per app instance in
 * tests), so parallel instances never share counters.
 */
/**
 * Gauges of what a process holds in memory (the embedded bus and store, the feed's ward view), read
 * when /metrics is scraped: an operator sees which of them a growing process is filling, and a soak
 * sees whether each levels off.
 */
export function registerHeldGauges(
  metrics: Metrics,
  sources: { bus?: { held?(): Map<string, number> }; store?: { held?(): Record<string, number> }; feed?: { held(): Record<string, number> } },
): void {
  const registers = [metrics.registry];
  const { bus, store, feed } = sources;
  if (bus?.held) {
    const held = bus.held.bind(bus);
    new Gauge({
      name: 'vw_bus_records_held',
      help: 'Record slots the in-process bus holds in memory, by topic (a compacted topic counts superseded records until they are squeezed out)',
      labelNames: ['topic'] as const,
      registers,
      collect() {
        for (const [topic, n] of held()) this.set({ topic }, n);
      },
    });
  }
  const byKind = (name: string, help: string, held: () => Record<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['kind'] as const,
      registers,
      collect() {
        for (const [kind, n] of Object.entries(held())) this.set({ kind }, n);
      },
    });
  if (store?.held) byKind('vw_store_held', 'Items the embedded store holds in memory, by kind (points, alerts, referrals, flow_events, capacity_snapshots, reading_hours)', store.held.bind(store));
  if (feed) byKind('vw_feed_held', "Items the feed's ward view holds in memory for console snapshots, by kind (alerts, scores, referrals, notifications, handover_notes)", feed.held.bind(feed));
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'vw_process_' });
  const registers = [registry];
  return {
    registry,
    readingsIngested: new Counter({
      name: 'vw_readings_ingested_total',
      help: 'Canonical readings accepted at the edge and published to the bus',
      labelNames: ['shape', 'type'] as const,
      registers,
    }),
    readingsRejected: new Counter({
      name: 'vw_readings_rejected_total',
      help: 'Payloads or batch items refused at the edge, by machine-readable reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    deadLettersSuppressed: new Counter({
      name: 'vw_dead_letters_suppressed_total',
      help: "Refusals not written to the dead-letter topic because their device had used its dead-letter budget (still counted in vw_readings_rejected_total), by reason",
      labelNames: ['reason'] as const,
      registers,
    }),
    mqttMessages: new Counter({
      name: 'vw_mqtt_messages_total',
      help: 'MQTT messages received by ingest',
      registers,
    }),
    scoresComputed: new Counter({
      name: 'vw_scores_computed_total',
      help: 'Scores computed, by rule and whether the parameter set was partial',
      labelNames: ['rule', 'partial'] as const,
      registers,
    }),
    alertsRaised: new Counter({
      name: 'vw_alerts_raised_total',
      help: 'New alerts opened, by rule and severity',
      labelNames: ['rule', 'severity'] as const,
      registers,
    }),
    alertsEscalated: new Counter({
      name: 'vw_alerts_severity_increased_total',
      help: 'Open alerts whose severity stepped up',
      labelNames: ['rule', 'severity'] as const,
      registers,
    }),
    alertActions: new Counter({
      name: 'vw_alert_actions_total',
      help: 'Alert actions applied (acknowledge, resolve)',
      labelNames: ['action'] as const,
      registers,
    }),
    rulesPatientsHeld: new Gauge({
      name: 'vw_rules_patients_held',
      help: 'Patients whose rule state this rules process holds: those of the partitions it owns',
      registers,
    }),
    stateRestoreSeconds: new Histogram({
      name: 'vw_state_restore_seconds',
      help: 'Time to restore a state store (and what goes with it) for partitions a process took over, by store',
      labelNames: ['store'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    duplicatesAbsorbed: new Counter({
      name: 'vw_duplicates_absorbed_total',
      help: 'Redelivered or repeated records recognised and absorbed',
      labelNames: ['stage'] as const,
      registers,
    }),
    pipelineLatency: new Histogram({
      name: 'vw_pipeline_latency_seconds',
      help: 'From a device message received at the edge to its effect delivered (stage=feed: reading on a console socket; stage=alert: alert on a console socket; stage=stored: written to the store)',
      labelNames: ['stage'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    busHandlerFailures: new Counter({
      name: 'vw_bus_handler_failures_total',
      help: 'Bus handler attempts that failed and will be retried',
      labelNames: ['group'] as const,
      registers,
    }),
    busPoisonRecords: new Counter({
      name: 'vw_bus_poison_records_total',
      help: 'Bus records that did not match their topic schema and were skipped',
      labelNames: ['group'] as const,
      registers,
    }),
    storeWrites: new Counter({
      name: 'vw_store_points_written_total',
      help: 'Points written to the time-series store, by measurement (reading or score)',
      labelNames: ['measurement'] as const,
      registers,
    }),
    storeWriteRetries: new Counter({
      name: 'vw_store_write_retries_total',
      help: 'Time-series store writes that failed and were retried',
      registers,
    }),
    storeOverflow: new Counter({
      name: 'vw_store_buffer_overflow_points_total',
      help: 'Points refused because the store write buffer was full (left on the bus and redelivered, not lost)',
      registers,
    }),
    feedConnections: new Gauge({
      name: 'vw_feed_connections',
      help: 'Open console WebSocket connections',
      registers,
    }),
    capacitySnapshots: new Counter({
      name: 'vw_capacity_snapshots_total',
      help: 'Capacity snapshots accepted at the capacity edge, by service',
      labelNames: ['service'] as const,
      registers,
    }),
    capacityRejected: new Counter({
      name: 'vw_capacity_rejected_total',
      help: 'Capacity posts and messages refused, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    referralsRequested: new Counter({
      name: 'vw_referrals_requested_total',
      help: 'Referrals requested by clinicians, by route',
      labelNames: ['route'] as const,
      registers,
    }),
    referralDeliveries: new Counter({
      name: 'vw_referral_deliveries_total',
      help: 'Attempts to send a referral message, by route and result (delivered, retry, failed)',
      labelNames: ['route', 'result'] as const,
      registers,
    }),
    notifications: new Counter({
      name: 'vw_notifications_total',
      help: 'Escalation notifications raised, by status when raised (pending, console_only) and failures',
      labelNames: ['status'] as const,
      registers,
    }),
    notificationDeliveries: new Counter({
      name: 'vw_notification_deliveries_total',
      help: 'Webhook delivery attempts for notifications, by result (delivered, retry, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    feedAuthFailures: new Counter({
      name: 'vw_feed_auth_failures_total',
      help: 'Console connections or requests refused for a missing or invalid token, or a ward not granted',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function secondsSince(iso: string, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(iso)) / 1000);
}
