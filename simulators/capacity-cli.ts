import { parseArgs } from 'node:util';
import { capacitySourceToken } from '../src/capacity/credentials.ts';
import { loadRegistryFile } from '../src/registry/load.ts';
import { httpCapacitySender, loadCapacityScenario, startCapacityFeed } from './capacity.ts';

/**
 * Simulated ambulance, NHS 111 and OPEL feeds posted to a running vw's capacity API, each with the
 * token of the source the registry names for its provider, until interrupted (or for --seconds).
 */
const { values } = parseArgs({
  options: {
    vw: { type: 'string', default: 'http://127.0.0.1:8080' },
    scenario: { type: 'string', default: 'simulators/scenarios/capacity.yaml' },
    seeds: { type: 'string', default: 'seeds/demo-ward.yaml' },
    secret: { type: 'string', default: process.env.VW_CAPACITY_SECRET },
    seconds: { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (!values.secret) throw new Error('needs --secret or VW_CAPACITY_SECRET: the secret the running vw derives capacity tokens from');
  const scenario = await loadCapacityScenario(values.scenario);
  const sources = (await loadRegistryFile(values.seeds)).data.capacitySources ?? [];
  for (const p of scenario.providers) {
    if (!sources.some((s) => s.service === p.service && s.providerId === p.providerId)) throw new Error(`${values.seeds} names no capacity source for ${p.service} ${p.providerId}`);
  }
  let sent = 0;
  let failed = 0;
  const send = httpCapacitySender({
    baseUrl: values.vw,
    tokenFor: (s) => {
      const source = sources.find((c) => c.service === s.service && c.providerId === s.providerId);
      return source && capacitySourceToken(values.secret!, source.sourceId);
    },
  });
  const feed = startCapacityFeed({
    scenario,
    send: async (snapshot) => {
      await send(snapshot);
      sent++;
    },
    onError: (error) => {
      failed++;
      process.stderr.write(`capacity: ${(error as Error).message}\n`);
    },
  });
  const stop = async () => {
    await feed.stop();
    process.stderr.write(`capacity: ${sent} snapshots accepted, ${failed} refused or not delivered\n`);
    process.exit(failed && !sent ? 1 : 0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (values.seconds) setTimeout(() => void stop(), Number(values.seconds) * 1000);
}

main().catch((error: unknown) => {
  process.stderr.write(`capacity: ${(error as Error).message}\n`);
  process.exit(1);
});
