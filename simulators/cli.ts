import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadRegistryFile } from '../src/registry/load.ts';
import { createLogger } from '../src/observability/logger.ts';
import { devicePassword } from '../src/mqtt/credentials.ts';
import { loadConfig } from '../src/config/config.ts';
import { keptSecret } from '../src/config/data-dir.ts';
import { loadScenario } from './scenario.ts';
import { createWardSimulator, scenarioRegistry } from './ward-simulator.ts';

/**
 * Runs a simulated ward against any MQTT broker until its duration ends or it is interrupted.
 * `--write-seeds FILE` instead writes the registry vw must load for the scenario (the seeds plus its
 * generated ward) and exits.
 */
const { values } = parseArgs({
  options: {
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    seeds: { type: 'string' },
    scenario: { type: 'string', default: 'simulators/scenarios/demo.yaml' },
    'write-seeds': { type: 'string' },
    /**
     * The provisioning secret device passwords derive from. Default: VW_MQTT_DEVICE_SECRET, else the
     * secret vw's embedded broker keeps in the data directory (VW_DATA_DIR), when there is one.
     */
    secret: { type: 'string', default: process.env.VW_MQTT_DEVICE_SECRET },
  },
});
async function main(): Promise<void> {
  const logger = createLogger({ name: 'vw-simulator' });
  const scenario = await loadScenario(values.scenario);
  const seeds = values.seeds ?? (scenario.ward ? undefined : 'seeds/demo-ward.yaml');
  const base = seeds ? (await loadRegistryFile(seeds)).data : undefined;
  if (values['write-seeds']) {
    const { registry } = scenarioRegistry(base, scenario);
    await writeFile(values['write-seeds'], `# Generated from ${values.scenario} (seed ${scenario.seed}); fictional patients.\n${stringify(registry)}`);
    process.stderr.write(`${registry.patients.length} patients, ${registry.devices.length} devices → ${values['write-seeds']}\n`);
    process.exit(0);
  }
  const secret = values.secret ?? (await keptSecret(loadConfig().dataDir, 'device-secret'));
  const simulator = createWardSimulator({
    mqttUrl: values.mqtt,
    registry: base ?? { wards: [], patients: [], devices: [], enrolments: [] },
    scenario,
    logger,
    ...(secret ? { credentials: (deviceId: string) => devicePassword(secret, deviceId) } : {}),
  });
  const stop = async () => {
    await simulator.stop();
    logger.info({ published: simulator.published() }, 'ward simulator stopped');
    process.exit(0);
  };
  await simulator.start();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
  if (scenario.durationSeconds !== undefined) void simulator.finished().then(stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${(error as Error).message}\n`);
  process.exit(1);
});
