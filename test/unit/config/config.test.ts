import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';

describe('configuration', () => {
  it('defaults to the embedded demo', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ mqtt: { url: 'embedded' }, bus: { kind: 'memory' }, store: { kind: 'memory' }, http: { port: 8080 } });
  });

  it('takes a YAML file, overridden by the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vw-config-'));
    const file = join(dir, 'vw.yaml');
    writeFileSync(file, 'http:\n  port: 9000\n  host: 0.0.0.0\nbus:\n  partitions: 12\n');
    const config = loadConfig({ VW_CONFIG: file, VW_HTTP_PORT: '9100' });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(config.bus.partitions).toBe(12);
  });

  it('names the setting and its variable when a value is wrong', () => {
    expect(() => loadConfig({ VW_HTTP_PORT: 'eighty', VW_MQTT_URL: 'http://broker' })).toThrow(ConfigError);
    const bad = () => loadConfig({ VW_HTTP_PORT: 'eighty', VW_FEED_TOKEN_SECRET: 'short' });
    expect(bad).toThrow(/http\.port \(VW_HTTP_PORT\)/);
    expect(bad).toThrow(/feed\.tokenSecret \(VW_FEED_TOKEN_SECRET\): must be at least 32 characters/);
  });

  it('says which file it could not read', () => {
    expect(() => loadConfig({ VW_CONFIG: '/nonexistent/vw.yaml' })).toThrow(/VW_CONFIG=\/nonexistent\/vw.yaml: cannot read/);
  });
});
