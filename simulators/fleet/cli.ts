/**
 * Drives load at an MQTT broker from a fleet of simulated devices, fleet-00000, fleet-00001…, spread
 * over worker processes. Progress goes to stderr once a second; the final report to stdout as JSON.
 *
 *   npx tsx simulators/fleet/cli.ts --mqtt mqtt://127.0.0.1:1883 --devices 10000 --rate 5000 --seconds 60
 *     [--mode canonical|families] [--secret S] [--workers N] [--kinds smartwatch,pulse_oximeter,...]
 *   (--secret: device passwords' provisioning secret; default VW_MQTT_DEVICE_SECRET, else the one vw's
 *   embedded broker keeps in VW_DATA_DIR. The embedded broker signs in registered devices only.)
 *     [--connect-concurrency N] [--connect-timeout SECONDS] [--max-in-flight N]
 *
 * vw accepts only enrolled devices: `--write-seeds FILE` (with the same --devices and --kinds) writes a
 * registry enrolling the fleet, one patient per device in wards of 1,000, for vw's VW_SEEDS, and exits.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import { DeviceKind } from '../../src/domain/index.ts';
import { loadConfig } from '../../src/config/config.ts';
import { keptSecret } from '../../src/config/data-dir.ts';
import { createFleet, type FleetReport } from './fleet.ts';
import { fleetRegistry } from './fleet-ward.ts';
import { LoadMode } from './load-payload.ts';

const { values } = parseArgs({
  options: {
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    devices: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    mode: { type: 'string', default: 'canonical' },
    secret: { type: 'string', default: process.env.VW_MQTT_DEVICE_SECRET },
    workers: { type: 'string' },
    kinds: { type: 'string', default: DeviceKind.options.join(',') },
    'connect-concurrency': { type: 'string', default: '100' },
    'max-in-flight': { type: 'string' },
    'connect-timeout': { type: 'string', default: '30' },
    'write-seeds': { type: 'string' },
  },
});

const Args = z.object({
  devices: z.coerce.number().int().positive().max(100_000),
  rate: z.coerce.number().nonnegative(),
  seconds: z.coerce.number().positive(),
  mode: LoadMode,
  workers: z.coerce.number().int().positive().optional(),
  kinds: z.array(DeviceKind).min(1),
  connectConcurrency: z.coerce.number().int().positive(),
  maxInFlight: z.coerce.number().int().positive().optional(),
  connectTimeout: z.coerce.number().positive(),
});
const parsed = Args.safeParse({
  devices: values.devices,
  rate: values.rate,
  seconds: values.seconds,
  mode: values.mode,
  workers: values.workers,
  kinds: values.kinds!.split(',').map((k) => k.trim()).filter(Boolean),
  connectConcurrency: values['connect-concurrency'],
  maxInFlight: values['max-in-flight'],
  connectTimeout: values['connect-timeout'],
});
if (!parsed.success) {
  const issue = parsed.error.issues[0]!;
  process.stderr.write(`fleet: --${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(2);
}
const args = parsed.data;

const devices = Array.from({ length: args.devices }, (_, i) => ({ deviceId: `fleet-${String(i).padStart(5, '0')}`, kind: args.kinds[i % args.kinds.length]! }));
if (values['write-seeds']) {
  const { registry, wardIds } = fleetRegistry(devices, { patientPrefix: 'fleet-p', wardPrefix: 'fleet-ward-' });
  writeFileSync(values['write-seeds'], `# A load fleet's registry: fictional patients, one per device.\n${stringify(registry)}`);
  process.stderr.write(`${devices.length} devices on ${wardIds.length} wards → ${values['write-seeds']}\n`);
  process.exit(0);
}
// Default: VW_MQTT_DEVICE_SECRET, else the secret vw's embedded broker keeps in the data directory.
const secret = values.secret ?? (await keptSecret(loadConfig().dataDir, 'device-secret'));
const log = (event: string, fields: object) => process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), event, ...fields })}\n`);
let previous = 0;
const fleet = createFleet({
  mqttUrl: values.mqtt!,
  devices,
  readingsPerSecond: args.rate,
  durationSeconds: args.seconds,
  mode: args.mode,
  connectConcurrency: args.connectConcurrency,
  connectTimeoutMs: Math.round(args.connectTimeout * 1000),
  ...(args.workers ? { workers: args.workers } : {}),
  ...(secret ? { secret } : {}),
  ...(args.maxInFlight ? { maxInFlightPerDevice: args.maxInFlight } : {}),
  onStats: (r: FleetReport) => {
    log('progress', { connected: r.connected, payloads: r.payloads, readings: r.readings, readingsLastSecond: r.readings - previous, acked: r.acked, errors: r.errors, deferred: r.deferred, missed: r.missed, outstanding: r.outstanding, cpuSeconds: Number(r.cpuSeconds.toFixed(2)) });
    previous = r.readings;
  },
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log('interrupted', { signal });
    void fleet.stop().then(() => process.exit(130));
  });
}

try {
  log('connecting', { devices: args.devices, mqtt: values.mqtt, mode: args.mode });
  const connected = await fleet.connect();
  log('connected', { ...connected, workerPids: fleet.pids() });
  const report = await fleet.run();
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await fleet.stop();
  process.exit(report.errors > 0 || report.connected < args.devices ? 1 : 0);
} catch (error) {
  log('failed', { error: error instanceof Error ? error.message : String(error) });
  await fleet.stop();
  process.exit(1);
}
