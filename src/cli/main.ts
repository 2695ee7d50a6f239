import { ConfigError } from '../config/errors.ts';

// Loaded only for the commands that need it: `vw help` and the tools start without the schema.
const loadConfig = async () => (await import('../config/config.ts')).loadConfig();

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

/**
 * Each subcommand is loaded when it is asked for, so `vw score news2` or `vw token` does not load
 * the brokers, Kafka client, store and simulators that `vw all` needs.
 */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return (await import('./commands/demo.ts')).demo();
    case 'all': {
      const [{ runRoles }, { ROLES }] = await Promise.all([import('./commands/roles.ts'), import('../app/app.ts')]);
      await runRoles(await loadConfig(), ROLES);
      return;
    }
    case 'ingest':
    case 'rules':
    case 'sink':
    case 'feed':
    case 'referrals':
    case 'notify':
      // `vw rules docs` is a tool; `vw rules` alone is the role.
      if (command === 'rules' && rest.length) return (await import('./commands/rules-docs.ts')).rulesDocs(rest);
      await (await import('./commands/roles.ts')).runRoles(await loadConfig(), [command]);
      return;
    case 'token':
      return (await import('./commands/credentials.ts')).token(rest);
    case 'mqtt-auth':
      return (await import('./commands/credentials.ts')).mqttAuth(rest);
    case 'capacity-token':
      return (await import('./commands/credentials.ts')).capacityToken(rest);
    case 'device-password':
      return (await import('./commands/credentials.ts')).devicePasswordCommand(rest);
    case 'score':
      return (await import('./commands/score.ts')).score(rest);
    case 'replay':
      return (await import('./replay.ts')).replayCommand(rest);
    case 'report':
      return (await import('./report.ts')).reportCommand(rest);
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
