/**
 * Where the integration suites' Mosquitto, Kafka and InfluxDB come from, in order of preference:
 * endpoints already in the environment (`eval "$(scripts/services.sh env)"`, as `npm test` does); the
 * services `scripts/services.sh up` left running; containers started with testcontainers when a
 * Docker engine is reachable; or none (integration suites then skip, or fail under CI=true).
 */
export type ServiceSource = 'environment' | 'services.sh' | 'testcontainers' | 'none';

/** The variables the integration suites read (test/support/services.ts). */
export const SERVICE_VARIABLES = ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'VW_MQTT_DEVICE_SECRET', 'KAFKA_BROKERS', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const;

export function chooseServiceSource(facts: { env: Record<string, string | undefined>; servicesStatus: string; dockerReachable: boolean }): ServiceSource {
  if (['MQTT_URL', 'KAFKA_BROKERS', 'INFLUX_URL'].every((v) => facts.env[v])) return 'environment';
  if (['mosquitto', 'kafka', 'influxdb'].every((s) => new RegExp(`^${s}: running`, 'm').test(facts.servicesStatus))) return 'services.sh';
  if (facts.dockerReachable) return 'testcontainers';
  return 'none';
}

/** `export NAME=value` lines (scripts/services.sh env) as variables. */
export function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return out;
}
