import { describe, expect, it } from 'vitest';
import { chooseServiceSource, parseExports } from '../../support/service-source.ts';

const RUNNING = 'mosquitto: running\nkafka: running\ninfluxdb: running\ninfluxdb-tls: running\n';

describe('where the integration suites find Mosquitto, Kafka and InfluxDB', () => {
  it('takes endpoints already in the environment first', () => {
    expect(chooseServiceSource({ env: { MQTT_URL: 'mqtt://h:1', KAFKA_BROKERS: 'h:2', INFLUX_URL: 'http://h:3' }, servicesStatus: '', dockerReachable: true })).toBe('environment');
  });

  it('then the services scripts/services.sh left running, all three of them', () => {
    expect(chooseServiceSource({ env: {}, servicesStatus: RUNNING, dockerReachable: true })).toBe('services.sh');
    expect(chooseServiceSource({ env: { MQTT_URL: 'mqtt://h:1' }, servicesStatus: RUNNING.replace('kafka: running', 'kafka: stopped'), dockerReachable: false })).toBe('none');
  });

  it('then containers, when a Docker engine answers; else none', () => {
    expect(chooseServiceSource({ env: {}, servicesStatus: '', dockerReachable: true })).toBe('testcontainers');
    expect(chooseServiceSource({ env: {}, servicesStatus: '', dockerReachable: false })).toBe('none');
  });

  it('reads the variables scripts/services.sh env prints', () => {
    expect(parseExports("export MQTT_URL=mqtt://127.0.0.1:18830\nexport INFLUX_TOKEN='vw:pw'\n# comment\nexport INFLUX_ORG=-\n")).toEqual({ MQTT_URL: 'mqtt://127.0.0.1:18830', INFLUX_TOKEN: 'vw:pw', INFLUX_ORG: '-' });
  });
});
