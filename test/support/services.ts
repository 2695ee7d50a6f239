import { describe, it } from 'vitest';

/**
 * Endpoints of the real services, from the environment (`eval "$(scripts/services.sh env)"`).
 * Without them, integration suites are skipped with a loud message, except under CI=true, where a
 * missing service fails the run.
 */
export const services = {
  kafkaBrokers: process.env.KAFKA_BROKERS,
  mqttUrl: process.env.MQTT_URL,
  mqttUsername: process.env.MQTT_USERNAME,
  mqttPassword: process.env.MQTT_PASSWORD,
  deviceSecret: process.env.VW_MQTT_DEVICE_SECRET,
  influx: process.env.INFLUX_URL
    ? { url: process.env.INFLUX_URL, token: process.env.INFLUX_TOKEN ?? '', org: process.env.INFLUX_ORG ?? '-', bucket: process.env.INFLUX_BUCKET ?? '' }
    : undefined,
};

const CI = process.env.CI === 'true';

/** A describe() that needs the named environment variables. */
export function describeWith(variables: string[], name: string, body: () => void): void {
  const missing = variables.filter((v) => !process.env[v]);
  if (missing.length && !CI) {
    console.warn(`\n*** SKIPPING "${name}": ${missing.join(', ')} not set. Run: scripts/services.sh up && eval "$(scripts/services.sh env)"\n`);
    describe.skip(name, body);
    return;
  }
  if (missing.length) {
    describe(name, () => {
      it('has its services', () => {
        throw new Error(`${missing.join(', ')} not set under CI=true: the real services must be provisioned (scripts/services.sh up)`);
      });
    });
    return;
  }
  describe(name, body);
}

/** A name prefix no other test run shares, so runs never see each other's topics, groups or data. */
export function runPrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
}
