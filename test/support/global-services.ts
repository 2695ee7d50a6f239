import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { chooseServiceSource, parseExports, type ServiceSource } from './service-source.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * vitest's global setup: finds the real services before any suite runs (service-source.ts), puts
 * their endpoints in the environment the test workers inherit, says on stderr which were used, and
 * removes any containers it started at the end. VW_TEST_SERVICES_FROM names the source for the suites.
 */
export default async function setup(): Promise<(() => Promise<void>) | void> {
  const status = (() => {
    try {
      return execFileSync('bash', [resolve(ROOT, 'scripts/services.sh'), 'status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  })();
  const needsDocker = !['MQTT_URL', 'KAFKA_BROKERS', 'INFLUX_URL'].every((v) => process.env[v]) && !/^kafka: running/m.test(status);
  const { dockerReachable, startServiceContainers } = needsDocker ? await import('./containers.ts') : { dockerReachable: async () => false, startServiceContainers: undefined };
  const source: ServiceSource = chooseServiceSource({ env: process.env, servicesStatus: status, dockerReachable: needsDocker && (await dockerReachable()) });
  process.env.VW_TEST_SERVICES_FROM = source;
  let stop: (() => Promise<void>) | undefined;
  if (source === 'services.sh') {
    Object.assign(process.env, parseExports(execFileSync('bash', [resolve(ROOT, 'scripts/services.sh'), 'env'], { encoding: 'utf8' })));
  } else if (source === 'testcontainers') {
    const containers = await startServiceContainers!();
    Object.assign(process.env, containers.env);
    stop = containers.stop;
  }
  const where = {
    environment: 'from the environment (scripts/services.sh env)',
    'services.sh': 'from scripts/services.sh, already running',
    testcontainers: 'in containers started with testcontainers (fault and cluster suites need scripts/services.sh)',
    none: 'none found: integration suites skip (fail under CI=true); run scripts/services.sh up, or start a Docker engine',
  }[source];
  process.stderr.write(`integration services: ${where}\n`);
  return stop;
}
