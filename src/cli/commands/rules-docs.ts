import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, PACKAGE_ROOT } from '../../config/config.ts';
import { rulesMarkdown } from '../../rules/engine/docs.ts';
import { loadRulePacks } from '../../rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../rules/news2/rule-file.ts';
import { loadReferralRoutes, ROUTES_FILE } from '../../referrals/routes-file.ts';

export async function rulesDocs(args: string[]): Promise<void> {
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
