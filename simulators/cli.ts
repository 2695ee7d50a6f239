import { parseArgs } from 'node:util';
import { loadRegistryFile } from '../src/registry/load.ts';
import { createLogger } from '../src/observability/logger.ts';
import { devicePassword } from '../src/mqtt/credentials.ts';
import { loadScenario } from './scenario.ts';
import { createWardSimulator } from './ward-simulator.ts';

/** Runs a simulated ward against any MQTT broker until interrupted. */
const { values } = parseArgs({
  options: {
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    seeds: { type: 'string', default: 'seeds/demo-ward.yaml' },
    scenario: { type: 'string', default: 'simulators/scenarios/demo.yaml' },
    /** The provisioning secret device passwords derive from, for a broker with per-device credentials. */
    secret: { type: 'string', default: process.env.VW_MQTT_DEVICE_SECRET },
  },
});
const logger = createLogger({ name: 'vw-simulator' });
const { data } = await loadRegistryFile(values.seeds);
const secret = values.secret;
const simulator = createWardSimulator({
  mqttUrl: values.mqtt,
  registry: data,
  scenario: await loadScenario(values.scenario),
  logger,
  ...(secret ? { credentials: (deviceId: string) => devicePassword(secret, deviceId) } : {}),
});
await simulator.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void simulator.stop().then(() => {
      logger.info({ published: simulator.published() }, 'ward simulator stopped');
      process.exit(0);
    });
  });
}
