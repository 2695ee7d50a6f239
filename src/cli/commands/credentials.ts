import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { capacitySourceToken } from '../../capacity/credentials.ts';
import { ConfigError, loadConfig } from '../../config/config.ts';
import { keptSecret, persistentSecret } from '../../config/data-dir.ts';
import type { CapacitySource } from '../../domain/index.ts';
import { createTokenAuthority } from '../../feed/auth.ts';
import { devicePassword, mosquittoAcl, mosquittoPasswordLines } from '../../mqtt/credentials.ts';
import { loadRegistryFile } from '../../registry/load.ts';

/** `vw token`, `vw mqtt-auth`, `vw device-password` and `vw capacity-token`: what each party signs in with. */
export async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' }, wards: { type: 'string' }, hours: { type: 'string' }, roles: { type: 'string' } } });
  const config = loadConfig();
  // The key a running vw signs with: the configured one, or the one the embedded default keeps.
  const secret = config.feed.tokenSecret ?? (await keptSecret(config.dataDir, 'feed-token-secret'));
  if (!secret) throw new ConfigError(`set VW_FEED_TOKEN_SECRET, or start vw once with this VW_DATA_DIR (${config.dataDir}) so it keeps a key there, to issue tokens that a running vw accepts`);
  if (!values.user || !values.wards) throw new ConfigError('vw token needs --user NAME and --wards W1,W2');
  const authority = createTokenAuthority({ secret, issuer: config.feed.tokenIssuer });
  const hours = values.hours ? Number(values.hours) : 12;
  const roles = values.roles ? values.roles.split(',').map((r) => r.trim()).filter(Boolean) : [];
  process.stdout.write(`${await authority.issue({ sub: values.user, wards: values.wards.split(','), ...(roles.length ? { roles } : {}) }, hours * 3600)}\n`);
}
export async function mqttAuth(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, seeds: { type: 'string' } } });
  const config = loadConfig();
  const { deviceSecret, username, password } = config.mqtt;
  if (!values.out) throw new ConfigError('vw mqtt-auth needs --out DIR');
  if (!deviceSecret || !username || !password) {
    throw new ConfigError('vw mqtt-auth needs VW_MQTT_DEVICE_SECRET, and ingest\'s VW_MQTT_USERNAME and VW_MQTT_PASSWORD');
  }
  // Several registries may share one broker (e.g. a ward per file): --seeds a.yaml,b.yaml
  const files = values.seeds ? values.seeds.split(',') : [config.registry.seedsFile];
  const registries = await Promise.all(files.map(async (f) => (await loadRegistryFile(f)).data));
  // A source listed in several files must be the same source; a username must name one client.
  const sources = new Map<string, CapacitySource>();
  for (const source of registries.flatMap((r) => r.capacitySources ?? [])) {
    const held = sources.get(source.sourceId);
    if (held && (held.service !== source.service || held.providerId !== source.providerId)) {
      throw new ConfigError(`capacity source ${source.sourceId} is listed with different services or providers in ${files.join(', ')}`);
    }
    sources.set(source.sourceId, source);
  }
  const data = { ...registries[0]!, devices: registries.flatMap((r) => r.devices), enrolments: registries.flatMap((r) => r.enrolments), capacitySources: [...sources.values()] };
  const users = new Set([username, ...data.devices.map((d) => d.deviceId)]);
  for (const sourceId of sources.keys()) {
    if (users.has(sourceId)) throw new ConfigError(`capacity source ${sourceId} has the username of a device or of ingest: MQTT usernames must be unique`);
  }
  const capacitySecret = config.capacity.secret;
  const capacitySources = capacitySecret ? [...sources.keys()] : [];
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'passwd'), mosquittoPasswordLines(data, { deviceSecret, ingestUser: username, ingestPassword: password, ...(capacitySecret ? { capacitySecret } : {}) }), { mode: 0o600 });
  await writeFile(join(values.out, 'acl'), mosquittoAcl({ ingestUser: username, capacitySources }));
  process.stdout.write(
    `wrote ${join(values.out, 'passwd')} (registered devices, ${capacitySources.length} capacity sources and ingest; hash it with mosquitto_passwd -U) and ${join(values.out, 'acl')}\n`,
  );
  if (sources.size && !capacitySecret) {
    process.stderr.write(`vw mqtt-auth: VW_CAPACITY_SECRET is not set, so capacity sources (${[...sources.keys()].join(', ')}) cannot connect to the broker; they can still post to the HTTP API\n`);
  }
}
export async function devicePasswordCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { device: { type: 'string' }, seeds: { type: 'string' } } });
  const config = loadConfig();
  if (!values.device) throw new ConfigError('vw device-password needs --device ID (a deviceId under devices in the registry)');
  const seeds = values.seeds ?? config.registry.seedsFile;
  const { registry } = await loadRegistryFile(seeds);
  if (!registry.device(values.device)) throw new ConfigError(`device ${values.device} is not in ${seeds}: only a registered device may sign in`);
  let secret = config.mqtt.deviceSecret;
  if (!secret) {
    // The embedded broker's own secret: the same file vw reads when started from this directory.
    const kept = await persistentSecret(config.dataDir, 'device-secret');
    if (kept.created) process.stderr.write(`vw device-password: generated a device secret in ${kept.file}; a vw already running from elsewhere uses its own\n`);
    secret = kept.value;
  }
  process.stdout.write(`${devicePassword(secret, values.device)}\n`);
}
export async function capacityToken(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { source: { type: 'string' }, seeds: { type: 'string' } } });
  const config = loadConfig();
  const secret = config.capacity.secret ?? (await keptSecret(config.dataDir, 'capacity-secret'));
  if (!secret) throw new ConfigError(`set VW_CAPACITY_SECRET, or start vw once with this VW_DATA_DIR (${config.dataDir}) so it keeps one there, to derive the token that a running vw accepts`);
  if (!values.source) throw new ConfigError('vw capacity-token needs --source ID (a sourceId under capacitySources in the registry)');
  const { registry } = await loadRegistryFile(values.seeds ?? config.registry.seedsFile);
  if (!registry.capacitySources().some((s) => s.sourceId === values.source)) {
    throw new ConfigError(`capacity source ${values.source} is not in ${values.seeds ?? config.registry.seedsFile}: add it under capacitySources first`);
  }
  process.stdout.write(`${capacitySourceToken(secret, values.source)}\n`);
}
