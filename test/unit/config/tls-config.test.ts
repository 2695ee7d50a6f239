import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readPemFiles, serverTls } from '../../../src/config/config.ts';

/** Transport security settings: TLS for vw's listeners, the external MQTT broker, and Kafka. */
const dir = mkdtempSync(join(tmpdir(), 'vw-tls-config-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
const ca = join(dir, 'ca.pem');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const missing = join(dir, 'missing.pem');

describe('TLS for vw\'s own listeners', () => {
  it('is off by default', () => {
    const config = loadConfig({});
    expect(config.tls).toEqual({});
    expect(serverTls(config)).toBeUndefined();
  });

  it('takes a certificate and key, and reads them', () => {
    const config = loadConfig({ VW_TLS_CERT_FILE: cert, VW_TLS_KEY_FILE: key });
    expect(config.tls).toEqual({ certFile: cert, keyFile: key });
    expect(serverTls(config)).toEqual({ cert: readFileSync(cert), key: readFileSync(key) });
    expect(readPemFiles({ ca, cert: undefined })).toEqual({ ca: readFileSync(ca) });
  });

  it('needs both or neither', () => {
    expect(() => loadConfig({ VW_TLS_CERT_FILE: cert })).toThrow(ConfigError);
    expect(() => loadConfig({ VW_TLS_CERT_FILE: cert })).toThrow(/tls\.keyFile \(VW_TLS_KEY_FILE\): VW_TLS_CERT_FILE is set: set VW_TLS_KEY_FILE too \(both or neither\)/);
    expect(() => loadConfig({ VW_TLS_KEY_FILE: key })).toThrow(/tls\.certFile \(VW_TLS_CERT_FILE\): VW_TLS_KEY_FILE is set: set VW_TLS_CERT_FILE too/);
  });

  it('refuses a file it cannot read, naming the variable', () => {
    expect(() => loadConfig({ VW_TLS_CERT_FILE: missing, VW_TLS_KEY_FILE: key })).toThrow(/tls\.certFile \(VW_TLS_CERT_FILE\): cannot read the file/);
    expect(() => loadConfig({ VW_TLS_CERT_FILE: cert, VW_TLS_KEY_FILE: join(dir, 'no-such-key.pem') })).toThrow(/tls\.keyFile \(VW_TLS_KEY_FILE\): cannot read the file/);
  });

  it('is read from the YAML file too', () => {
    const file = join(dir, 'vw.yaml');
    writeFileSync(file, `tls:\n  certFile: ${cert}\n  keyFile: ${key}\n`);
    expect(loadConfig({ VW_CONFIG: file }).tls).toEqual({ certFile: cert, keyFile: key });
  });
});

describe('TLS to an external MQTT broker', () => {
  it('takes a CA, and a client certificate and key, with an mqtts:// URL', () => {
    const config = loadConfig({ VW_MQTT_URL: 'mqtts://broker.example:8883', VW_MQTT_CA_FILE: ca, VW_MQTT_CLIENT_CERT_FILE: cert, VW_MQTT_CLIENT_KEY_FILE: key });
    expect(config.mqtt).toMatchObject({ caFile: ca, clientCertFile: cert, clientKeyFile: key });
  });

  it('refuses them without an mqtts:// URL', () => {
    expect(() => loadConfig({ VW_MQTT_CA_FILE: ca })).toThrow(/mqtt\.caFile \(VW_MQTT_CA_FILE\): VW_MQTT_CA_FILE applies only to an external mqtts:\/\/ broker/);
    expect(() => loadConfig({ VW_MQTT_URL: 'mqtt://broker.example:1883', VW_MQTT_CA_FILE: ca })).toThrow(/VW_MQTT_CA_FILE applies only/);
  });

  it('needs a client certificate and key together, and readable', () => {
    expect(() => loadConfig({ VW_MQTT_URL: 'mqtts://broker.example', VW_MQTT_CLIENT_CERT_FILE: cert })).toThrow(/mqtt\.clientKeyFile \(VW_MQTT_CLIENT_KEY_FILE\): VW_MQTT_CLIENT_CERT_FILE is set/);
    expect(() => loadConfig({ VW_MQTT_URL: 'mqtts://broker.example', VW_MQTT_CLIENT_KEY_FILE: key })).toThrow(/mqtt\.clientCertFile \(VW_MQTT_CLIENT_CERT_FILE\): VW_MQTT_CLIENT_KEY_FILE is set/);
    expect(() => loadConfig({ VW_MQTT_URL: 'mqtts://broker.example', VW_MQTT_CA_FILE: missing })).toThrow(/mqtt\.caFile \(VW_MQTT_CA_FILE\): cannot read the file/);
  });
});

describe('Kafka SSL and SASL', () => {
  it('is off by default, with no password', () => {
    const { kafka } = loadConfig({});
    expect(kafka.ssl).toBe(false);
    expect(kafka.saslMechanism).toBeUndefined();
    expect(kafka.saslPassword).toBeUndefined();
  });

  it('takes SSL with a CA, and each SASL mechanism with its username and password', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const { kafka } = loadConfig({ VW_KAFKA_SSL: 'true', VW_KAFKA_CA_FILE: ca, VW_KAFKA_SASL_MECHANISM: mechanism, VW_KAFKA_SASL_USERNAME: 'vw', VW_KAFKA_SASL_PASSWORD: 'pw-from-a-secret' });
      expect(kafka).toMatchObject({ ssl: true, caFile: ca, saslMechanism: mechanism, saslUsername: 'vw', saslPassword: 'pw-from-a-secret' });
    }
  });

  it('refuses an unknown mechanism', () => {
    expect(() => loadConfig({ VW_KAFKA_SASL_MECHANISM: 'gssapi', VW_KAFKA_SASL_USERNAME: 'vw', VW_KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/kafka\.saslMechanism \(VW_KAFKA_SASL_MECHANISM\)/);
  });

  it('needs a username and a password with a mechanism', () => {
    expect(() => loadConfig({ VW_KAFKA_SASL_MECHANISM: 'scram-sha-512', VW_KAFKA_SASL_USERNAME: 'vw' })).toThrow(/kafka\.saslPassword \(VW_KAFKA_SASL_PASSWORD\): VW_KAFKA_SASL_MECHANISM=scram-sha-512 needs VW_KAFKA_SASL_PASSWORD/);
    expect(() => loadConfig({ VW_KAFKA_SASL_MECHANISM: 'plain', VW_KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/kafka\.saslUsername \(VW_KAFKA_SASL_USERNAME\): VW_KAFKA_SASL_MECHANISM=plain needs VW_KAFKA_SASL_USERNAME/);
  });

  it('refuses a username or password without a mechanism', () => {
    expect(() => loadConfig({ VW_KAFKA_SASL_USERNAME: 'vw', VW_KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/kafka\.saslMechanism \(VW_KAFKA_SASL_MECHANISM\): a SASL username or password is set/);
  });

  it('needs SSL for a CA, and a readable CA', () => {
    expect(() => loadConfig({ VW_KAFKA_CA_FILE: ca })).toThrow(/kafka\.caFile \(VW_KAFKA_CA_FILE\): VW_KAFKA_CA_FILE needs VW_KAFKA_SSL=true/);
    expect(() => loadConfig({ VW_KAFKA_SSL: 'true', VW_KAFKA_CA_FILE: missing })).toThrow(/kafka\.caFile \(VW_KAFKA_CA_FILE\): cannot read the file/);
    expect(() => loadConfig({ VW_KAFKA_SSL: 'yes' })).toThrow(/kafka\.ssl \(VW_KAFKA_SSL\)/);
  });
});

describe('InfluxDB over https', () => {
  it('takes a CA file for an https URL only, and a readable one', () => {
    expect(loadConfig({ VW_INFLUX_URL: 'https://influxdb.example.nhs.uk:8086', VW_INFLUX_CA_FILE: ca }).influx.caFile).toBe(ca);
    expect(() => loadConfig({ VW_INFLUX_URL: 'http://127.0.0.1:8086', VW_INFLUX_CA_FILE: ca })).toThrow(/influx\.caFile \(VW_INFLUX_CA_FILE\): VW_INFLUX_CA_FILE applies to an https:\/\/ VW_INFLUX_URL only/);
    expect(() => loadConfig({ VW_INFLUX_URL: 'https://influxdb.example.nhs.uk:8086', VW_INFLUX_CA_FILE: missing })).toThrow(/influx\.caFile \(VW_INFLUX_CA_FILE\): cannot read the file/);
  });
});
