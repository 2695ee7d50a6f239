import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatZodError } from '../config/errors.ts';
import { Acvpu, type CapacitySource } from '../domain/index.ts';
import { devicePassword, mosquittoAcl, mosquittoPasswordLines } from '../mqtt/credentials.ts';
import { keptSecret, persistentSecret } from '../config/data-dir.ts';
import { capacitySourceToken } from '../capacity/credentials.ts';
import { loadNews2Rule } from '../rules/news2/rule-file.ts';
import { scoreNews2 } from '../rules/news2/score.ts';
import { ConfigError, loadConfig, PACKAGE_ROOT, type Config } from '../config/config.ts';
import { rulesMarkdown } from '../rules/engine/docs.ts';
import { loadRulePacks } from '../rules/engine/pack-file.ts';
import { ROLES, startVw, type Role, type VwApp } from '../app/app.ts';
import { createTokenAuthority } from '../feed/auth.ts';
import { loadRegistryFile } from '../registry/load.ts';
import { loadScenario } from '../../simulators/scenario.ts';
import { createWardSimulator } from '../../simulators/ward-simulator.ts';
import { httpCapacitySender, loadCapacityScenario, startCapacityFeed } from '../../simulators/capacity.ts';
import { replayCommand } from './replay.ts';
import { reportCommand } from './report.ts';
import { writeDemoHistory } from '../../simulators/demo-history.ts';
import { startReferralReceiver } from '../../simulators/referral-receiver.ts';
import { startFlowFeed } from '../../simulators/flow-feed.ts';
import { loadReferralRoutes, ROUTES_FILE } from '../referrals/routes-file.ts';

const USAGE = `vw: wearable remote monitoring for virtual wards

Usage:
  vw demo                          everything in one process with a simulated ward; prints the console URL
  vw all                           every role in one process (ingest, rules, sink, feed, referrals, notify)
  vw ingest | rules | sink | feed | referrals | notify
                                   one role in this process
  vw token --user NAME --wards W1,W2 [--hours H] [--roles "virtual ward consultant,…"]
                                   prints a console token (needs VW_FEED_TOKEN_SECRET)
  vw capacity-token --source ID [--seeds registry.yaml]
                                   prints a capacity source's token: its HTTP bearer token and MQTT
                                   password (needs VW_CAPACITY_SECRET; docs/capacity.md)
  vw score news2                   reads one JSON object of reading values on stdin, prints the NEWS2
                                   total, band and sub-scores (keys: respiratory_rate, spo2, spo2_scale,
                                   supplemental_oxygen, systolic_bp, heart_rate, consciousness, temperature)
  vw rules docs [--out FILE]       writes docs/rules.md from the rule files (or to FILE, - for stdout)
  vw replay --rules DIR --input readings.jsonl [--seeds registry.yaml] [--tick 1m] [--out alerts.jsonl]
                                   runs canonical readings (JSONL, one per line) through the rules on
                                   event time; writes every alert revision as JSONL, a summary on stderr
  vw replay --compare DIR_A DIR_B --input readings.jsonl [--seeds registry.yaml] [--tick 1m] [--json]
                                   replays under two rule folders; per rule: alerts opened, added and
                                   removed, alerts per patient-day and versions (docs/replay.md)
  vw report capacity --ics ID --from YYYY-MM-DD --to YYYY-MM-DD --format html|csv|json --seeds registry.yaml
                     --flow flow.jsonl [--alerts alerts.jsonl] [--referrals referrals.jsonl] [--census-hour 8] [--out FILE]
                                   an ICS's virtual-ward capacity and flow report for UK dates --from to --to
                                   (inclusive): one offline HTML file, the monthly CSV, or JSON (docs/reports.md)
  vw device-password --device ID [--seeds registry.yaml]
                                   prints a device's MQTT password (username = client id = the device id)
                                   from VW_MQTT_DEVICE_SECRET, or the secret the embedded broker keeps in
                                   the data directory (VW_DATA_DIR, default ./.vw-data)
  vw mqtt-auth --out DIR [--seeds A.yaml,B.yaml]
                                   writes a Mosquitto password file and ACL for the registry's devices
                                   and capacity sources (needs VW_MQTT_DEVICE_SECRET, VW_MQTT_USERNAME,
                                   VW_MQTT_PASSWORD; VW_CAPACITY_SECRET for the capacity sources)

Configuration comes from VW_* environment variables and an optional YAML file named by VW_CONFIG;
see docs/configuration.md.`;

function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

async function runRoles(config: Config, roles: readonly Role[]): Promise<VwApp> {
  const app = await startVw(config, { roles });
  onShutdown(app.close);
  return app;
}

/** Roles the shipped escalation ladders notify, held by the demo's ward lead. */
const DEMO_NOTIFY_ROLES = ['virtual ward clinician on call', 'virtual ward consultant', 'virtual ward nurse in charge', 'virtual ward clinical lead', 'heart failure specialist nurse team lead'];

async function demo(): Promise<void> {
  // The demo keeps its terminal for the URLs: routine info logs are off unless VW_LOG_LEVEL asks.
  // A local receiving service stands in for 999, 111, the community team and the rest, so a
  // newcomer sees a referral arrive and be accepted. Routes with endpoints of their own keep them.
  const webhookSecret = process.env.VW_NOTIFY_SECRET ?? randomBytes(24).toString('base64url');
  const receiver = await startReferralReceiver({ name: 'Demo receiving service', webhookSecret });
  const routesFile = await loadReferralRoutes(join(loadConfig().rules.dir, ROUTES_FILE));
  const endpoints = { ...Object.fromEntries(routesFile.routes.map((r) => [r.id, `${receiver.url}/${r.id}`])), ...loadConfig().referrals.endpoints };
  // Escalations not acknowledged in time are posted, signed, to the same local service.
  const webhooks = Object.fromEntries(DEMO_NOTIFY_ROLES.map((role) => [role, `${receiver.url}/notify/${role.replaceAll(' ', '-')}`]));
  const callbackToken = process.env.VW_REFERRAL_CALLBACK_TOKEN ?? randomBytes(24).toString('base64url');
  // A rehearsal at many times real speed sends readings days behind the wall clock: its rules timers
  // follow the readings' clock, as `vw replay` does, unless VW_RULES_CLOCK says otherwise.
  const scenario = await loadScenario(loadConfig().simulator.scenarioFile);
  const rehearsal = scenario.speed > 1;
  const config = loadConfig(process.env, { ...(rehearsal && !process.env.VW_RULES_CLOCK ? { 'rules.clock': 'readings' } : {}), 'simulator.enabled': true, 'referrals.endpoints': endpoints, 'referrals.callbackToken': callbackToken, 'notify.webhooks': webhooks, 'notify.secret': webhookSecret, ...(process.env.VW_LOG_LEVEL ? {} : { logLevel: 'warn' }) });
  const app = await startVw(config);
  // Four weeks of simulated history in the store, so the planner view has days to show.
  const history = await writeDemoHistory(app.store);
  // The receiving service answers a few seconds later, as a real one would: "sent", then "accepted".
  receiver.answerLater({ baseUrl: app.httpUrl, token: callbackToken, afterMs: 4_000 });
  const { data } = await loadRegistryFile(config.registry.seedsFile);
  // The simulated devices sign in to the embedded broker as themselves, like any device.
  const deviceSecret = app.deviceSecret;
  if (!deviceSecret) throw new Error('the demo\'s broker has no device secret');
  const simulator = createWardSimulator({ mqttUrl: app.mqttUrl, registry: data, scenario, logger: app.logger, credentials: (deviceId) => devicePassword(deviceSecret, deviceId) });
  await simulator.start();
  // Live pressure on the ambulance service, NHS 111 and the ICS, posted to the capacity API as each
  // provider's own feed would be, with that source's token.
  const sources = app.registry.capacitySources();
  const capacity = startCapacityFeed({
    send: httpCapacitySender({
      baseUrl: app.httpUrl,
      tokenFor: (s) => {
        const source = sources.find((c) => c.service === s.service && c.providerId === s.providerId);
        return source && app.capacityCredentials.tokenFor(source.sourceId);
      },
    }),
    scenario: await loadCapacityScenario(join(PACKAGE_ROOT, 'simulators', 'scenarios', 'capacity.yaml')),
    onError: (error) => app.logger.warn({ err: error }, 'capacity feed could not publish'),
  });
  // Patients come and go: a ward lead admits and discharges through the flow API every few seconds.
  const lead = await app.tokens.issue({ sub: 'demo.lead', name: 'Demo Ward Lead', wards: data.wards.map((w) => w.wardId), roles: [...DEMO_NOTIFY_ROLES, 'ward lead'] });
  // Patients an earlier run admitted may still be on the wards (the data directory kept them): the
  // feed discharges them in turn and gives new admissions new ids.
  const flowSoFar = await app.store.flowEvents(data.wards.map((w) => w.wardId), { since: new Date(0) });
  const census = new Map<string, string>();
  for (const e of flowSoFar) {
    if (!e.patientId.startsWith('pt-flow-')) continue;
    if (e.kind === 'discharge') census.delete(e.patientId);
    else census.set(e.patientId, e.wardId);
  }
  const used = new Set(flowSoFar.map((e) => e.patientId));
  const earlier = { onWard: [...census].map(([patientId, wardId]) => ({ patientId, wardId })), taken: (patientId: string) => used.has(patientId) };
  const flow = startFlowFeed({ baseUrl: app.httpUrl, token: lead, registry: data, everyMs: 8_000, earlier, onError: (error) => app.logger.warn({ err: error }, 'flow feed could not post') });
  onShutdown(async () => {
    await flow.stop();
    await capacity.stop();
    await simulator.stop();
    await app.close();
    await receiver.close();
  });
  const firstWard = data.wards[0]!;
  const nurse = await app.tokens.issue({ sub: 'demo.nurse', name: 'Demo Nurse', wards: [firstWard.wardId] });
  const ics = firstWard.ics;
  const planner = ics ? await app.tokens.issue({ sub: 'demo.planner', name: 'Demo Planner', wards: data.wards.filter((w) => w.ics === ics).map((w) => w.wardId), roles: ['planner'] }) : undefined;
  process.stdout.write(
    [
      '',
      'vw demo is running: a simulated virtual ward is publishing over MQTT.',
      '',
      `  Console (nurse, ${firstWard.name} only):`,
      `    ${app.httpUrl}/#token=${nurse}`,
      `  Console (ward lead and consultant, all wards; escalations to them show as banners;`,
      `  the same token admits and discharges through POST /api/v1/flow, as the demo does every few seconds):`,
      `    ${app.httpUrl}/#token=${lead}`,
      ...(planner
        ? [
            `  Planner view (${ics}: capacity, occupancy, flow and pressure; ${history.days} days of simulated history${history.kept ? ' kept from an earlier run' : ''}, ${history.admissions} admissions, then live):`,
            `    ${app.httpUrl}/planner/#token=${planner}`,
          ]
        : []),
      `  MQTT broker:  ${app.mqttUrl}   (devices publish to vw/v1/devices/{deviceId}/readings,`,
      `    signed in as the device: -i ID -u ID -P "$(npx vw device-password --device ID)")`,
      `  Referrals received by the demo's receiving service (FHIR message bundles):`,
      `    ${receiver.url}/`,
      `  Metrics:      ${app.httpUrl}/metrics`,
      `  Health:       ${app.httpUrl}/healthz`,
      `  Data:         ${config.durable ? `${config.dataDir} (readings, alerts, settings, referrals and keys outlast a restart; delete it to start afresh)` : 'in memory only (VW_DURABLE=false): gone when the demo stops'}`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

async function token(args: string[]): Promise<void> {
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

async function mqttAuth(args: string[]): Promise<void> {
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

async function devicePasswordCommand(args: string[]): Promise<void> {
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

async function capacityToken(args: string[]): Promise<void> {
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

const ScoreInput = z
  .object({
    respiratory_rate: z.number().finite().optional(),
    spo2: z.number().finite().optional(),
    spo2_scale: z.union([z.literal(1), z.literal(2)]).default(1),
    supplemental_oxygen: z.boolean().optional(),
    systolic_bp: z.number().finite().optional(),
    heart_rate: z.number().finite().optional(),
    consciousness: Acvpu.optional(),
    temperature: z.number().finite().optional(),
  })
  .strict();

async function score(args: string[]): Promise<void> {
  if (args[0] !== 'news2') throw new ConfigError('usage: vw score news2 < readings.json');
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('vw score news2: stdin is not one JSON object');
  }
  const input = ScoreInput.safeParse(json);
  if (!input.success) throw new ConfigError(`vw score news2: ${formatZodError(input.error)}`);
  const { spo2_scale, ...values } = input.data;
  const rule = await loadNews2Rule(join(loadConfig().rules.dir, 'news2.yaml'));
  const result = scoreNews2(rule, { spo2Scale: spo2_scale, ...values });
  // A partial score is a lower bound: it says so, and what is missing.
  const out = { total: result.total, band: result.band, subscores: result.subscores, ...(result.partial ? { partial: true, missing: result.missing } : {}) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function rules(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' } } });
  if (positionals[0] !== 'docs') throw new ConfigError('usage: vw rules docs [--out FILE]');
  const dir = loadConfig().rules.dir;
  const markdown = rulesMarkdown(await loadNews2Rule(join(dir, 'news2.yaml')), await loadRulePacks(dir), await loadReferralRoutes(join(dir, ROUTES_FILE)));
  const out = values.out ?? join(PACKAGE_ROOT, 'docs', 'rules.md');
  if (out === '-') process.stdout.write(markdown);
  else {
    await writeFile(out, markdown);
    process.stdout.write(`wrote ${out}\n`);
  }
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demo();
    case 'all':
      await runRoles(loadConfig(), ROLES);
      return;
    case 'ingest':
    case 'rules':
    case 'sink':
    case 'feed':
    case 'referrals':
    case 'notify':
      // `vw rules docs` is a tool; `vw rules` alone is the role.
      if (command === 'rules' && rest.length) return rules(rest);
      await runRoles(loadConfig(), [command]);
      return;
    case 'token':
      return token(rest);
    case 'mqtt-auth':
      return mqttAuth(rest);
    case 'capacity-token':
      return capacityToken(rest);
    case 'device-password':
      return devicePasswordCommand(rest);
    case 'score':
      return score(rest);
    case 'replay':
      return replayCommand(rest);
    case 'report':
      return reportCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`vw: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    const e = error as NodeJS.ErrnoException & { port?: number };
    process.stderr.write(`vw: port ${e.port ?? ''} is in use; set VW_HTTP_PORT or VW_MQTT_EMBEDDED_PORT to a free port\n`);
  } else {
    process.stderr.write(`vw: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
