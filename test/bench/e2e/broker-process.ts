import { startEmbeddedBroker } from '../../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../../src/observability/logger.ts';

/**
 * vw's embedded broker alone in its own process, on the port given: the benchmark's broker for the
 * Node-RED peer, which has none built in, so the peer meets the same broker vw's embedded mode has,
 * as strict: devices sign in with passwords derived from VW_MQTT_DEVICE_SECRET, and the peer reads as VW_PEER_MQTT_USER.
 */
const port = Number(process.argv[2]);
const secret = process.env.VW_MQTT_DEVICE_SECRET;
const reader = { username: process.env.VW_PEER_MQTT_USER ?? '', password: process.env.VW_PEER_MQTT_PASSWORD ?? '' };
if (!secret || !reader.username || !reader.password) throw new Error('broker-process needs VW_MQTT_DEVICE_SECRET, VW_PEER_MQTT_USER and VW_PEER_MQTT_PASSWORD');
const broker = await startEmbeddedBroker({
  host: '127.0.0.1',
  port,
  logger: createLogger({ level: 'warn', name: 'bench-broker' }),
  // Every id but the peer's own is taken as registered: the load fleet's devices are generated.
  devices: { secret, registered: (id) => id !== reader.username },
  reader,
});
process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
