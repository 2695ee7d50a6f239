import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../observability/logger.ts';

/**
 * An in-process MQTT 3.1.1 broker for the embedded default. Like the generated Mosquitto ACL, it lets
 * a client publish only under its own device topic (the client id is the device id), so a device
 * cannot publish as another.
 */
export async function startEmbeddedBroker(options: { host: string; port: number; logger: Logger }) {
  const log = options.logger.child({ component: 'embedded-mqtt' });
  const broker = await Aedes.createBroker({
    authorizePublish(client, packet, callback) {
      const own = client ? `vw/v1/devices/${client.id}/` : undefined;
      if (own && packet.topic.startsWith(own)) return callback(null);
      log.warn({ clientId: client?.id }, 'publish refused: a device may publish only under its own topic');
      callback(new Error('not authorised to publish to this topic'));
    },
  });
  const server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `mqtt://${options.host}:${address.port}`;
  log.info({ url }, 'embedded MQTT broker listening');
  return {
    url,
    port: address.port,
    async close(): Promise<void> {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
