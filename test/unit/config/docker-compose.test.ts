import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROLES } from '../../../src/app/app.ts';
import { loadConfig } from '../../../src/config/config.ts';

/**
 * docker-compose.yml cannot run here (no Docker engine), so its syntax and meaning are checked:
 * official images, every role, and vw environments that vw's own configuration accepts.
 */
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string | number>; profiles?: string[] }>;
};

/** Docker Compose's `${VAR:-default}` and `${VAR:?message}` with the given variables. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string) => {
    if (vars[name] !== undefined) return vars[name]!;
    if (op === '-') return arg;
    throw new Error(`compose needs ${name}: ${arg}`);
  });
}

describe('docker-compose.yml', () => {
  it('runs the official images of Mosquitto, Kafka 3.9 and InfluxDB 2.7', () => {
    expect(compose.services.mosquitto?.image).toMatch(/^eclipse-mosquitto:2/);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:3\.9/);
    expect(compose.services.influxdb?.image).toBe('influxdb:2.7');
    // Grafana, provisioned with vw's InfluxDB and the capacity dashboard, its admin password required.
    expect(compose.services.grafana?.image).toMatch(/^grafana\/grafana:11\./);
    expect(JSON.stringify(compose.services.grafana)).toContain('./dashboards/grafana:/var/lib/grafana/dashboards/vw');
    expect(String(compose.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD)).toMatch(/:\?/);
  });

  it.each([...ROLES])('runs the %s role as its own service with a configuration vw accepts', (role) => {
    const service = compose.services[role]!;
    // The image's entry point is `node bin/vw.js`: the command names the role.
    expect(service.command).toEqual([role]);
    const env = Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), { VW_MQTT_PASSWORD: 'p'.repeat(16), VW_FEED_TOKEN_SECRET: 's'.repeat(32), VW_CAPACITY_SECRET: 'c'.repeat(16), VW_INFLUX_TOKEN: 't'.repeat(32) })]),
    );
    const config = loadConfig(env);
    expect(config).toMatchObject({ bus: { kind: 'kafka' }, store: { kind: 'influxdb' }, mqtt: { url: 'mqtt://mosquitto:1883' }, kafka: { brokers: ['kafka:9092'] } });
  });

  it('refuses to start without the secrets it needs', () => {
    const env = compose.services.feed!.environment!;
    expect(() => interpolate(String(env.VW_FEED_TOKEN_SECRET), {})).toThrow(/VW_FEED_TOKEN_SECRET/);
    expect(() => interpolate(String(env.VW_CAPACITY_SECRET), {})).toThrow(/VW_CAPACITY_SECRET/);
    // No default InfluxDB credentials anywhere: the roles, InfluxDB itself and Grafana.
    expect(() => interpolate(String(env.VW_INFLUX_TOKEN), {})).toThrow(/VW_INFLUX_TOKEN/);
    const influx = compose.services.influxdb!.environment!;
    expect(() => interpolate(String(influx.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN), {})).toThrow(/VW_INFLUX_TOKEN/);
    expect(() => interpolate(String(influx.DOCKER_INFLUXDB_INIT_PASSWORD), {})).toThrow(/VW_INFLUX_PASSWORD/);
    expect(() => interpolate(String(compose.services.grafana!.environment!.VW_INFLUX_TOKEN), {})).toThrow(/VW_INFLUX_TOKEN/);
  });

  it('publishes the stores and the demo on this host only', () => {
    const ports = (name: string) => ((compose.services[name] as { ports?: string[] }).ports ?? []);
    for (const name of ['influxdb', 'grafana', 'demo']) {
      expect(ports(name).length, name).toBeGreaterThan(0);
      for (const port of ports(name)) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('sends referrals only where VW_REFERRAL_ENDPOINTS says', () => {
    const env = compose.services.referrals!.environment!;
    const vars = { VW_MQTT_PASSWORD: 'p'.repeat(16), VW_FEED_TOKEN_SECRET: 's'.repeat(32), VW_CAPACITY_SECRET: 'c'.repeat(16), VW_INFLUX_TOKEN: 't'.repeat(32) };
    const configured = (more: Record<string, string>) => loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), { ...vars, ...more })])));
    expect(configured({}).referrals.endpoints).toEqual({});
    expect(configured({ VW_REFERRAL_ENDPOINTS: 'urgent-community-response=https://ucr.example.nhs.uk/referrals' }).referrals.endpoints).toEqual({
      'urgent-community-response': 'https://ucr.example.nhs.uk/referrals',
    });
  });

  it('sends escalation webhooks only where VW_NOTIFY_WEBHOOKS says, and only signed', () => {
    const env = compose.services.notify!.environment!;
    const vars = { VW_MQTT_PASSWORD: 'p'.repeat(16), VW_FEED_TOKEN_SECRET: 's'.repeat(32), VW_CAPACITY_SECRET: 'c'.repeat(16), VW_INFLUX_TOKEN: 't'.repeat(32) };
    const configured = (more: Record<string, string>) => loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), { ...vars, ...more })])));
    expect(configured({}).notify).toMatchObject({ webhooks: {}, fallback: 'virtual ward clinical lead', giveUpMinutes: 5 });
    const webhooks = { VW_NOTIFY_WEBHOOKS: 'virtual ward consultant=https://pager.example.nhs.uk/hooks/vw' };
    expect(() => configured(webhooks)).toThrow(/VW_NOTIFY_SECRET/);
    expect(configured({ ...webhooks, VW_NOTIFY_SECRET: 'n'.repeat(16) }).notify.webhooks).toEqual({ 'virtual ward consultant': 'https://pager.example.nhs.uk/hooks/vw' });
  });

  it('keeps the all-in-one demo behind a profile', () => {
    expect(compose.services.demo?.profiles).toEqual(['embedded']);
  });
});
