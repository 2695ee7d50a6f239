import { startEmbeddedBroker } from '../../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../../src/observability/logger.ts';

/**
 * vw's embedded broker alone in its own process, on the port given: the benchmark's broker for the
 * Node-RED peer, which has none built in, so the peer meets the same broker vw's embedded mode has.
 */
const port = Number(process.argv[2]);
const broker = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: createLogger({ level: 'warn', name: 'bench-broker' }) });
process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
