import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startVw } from '../../app/app.ts';
import { loadConfig, PACKAGE_ROOT } from '../../config/config.ts';
import { devicePassword } from '../../mqtt/credentials.ts';
import { loadRegistryFile } from '../../registry/load.ts';
import { loadReferralRoutes, ROUTES_FILE } from '../../referrals/routes-file.ts';
import { httpCapacitySender, loadCapacityScenario, startCapacityFeed } from '../../../simulators/capacity.ts';
import { writeDemoHistory } from '../../../simulators/demo-history.ts';
import { startFlowFeed } from '../../../simulators/flow-feed.ts';
import { startReferralReceiver } from '../../../simulators/referral-receiver.ts';
import { loadScenario } from '../../../simulators/scenario.ts';
import { createWardSimulator } from '../../../simulators/ward-simulator.ts';
import { onShutdown } from './shutdown.ts';

const DEMO_NOTIFY_ROLES = ['virtual ward clinician on call', 'virtual ward consultant', 'virtual ward nurse in charge', 'virtual ward clinical lead', 'heart failure specialist nurse team lead'];

export async function demo(): Promise<void> {
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
