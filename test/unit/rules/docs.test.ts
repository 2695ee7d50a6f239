import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rulesMarkdown } from '../../../src/rules/engine/docs.ts';
import { loadRulePacks } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../../src/rules/news2/rule-file.ts';
import { loadReferralRoutes } from '../../../src/referrals/routes-file.ts';

describe('docs/rules.md', () => {
  it('is what `vw rules docs` generates from the rule files now (regenerate it after changing a rule)', async () => {
    const expected = rulesMarkdown(await loadNews2Rule('rules/news2.yaml'), await loadRulePacks('rules'), await loadReferralRoutes('rules/referral-routes.yaml'));
    expect(readFileSync('docs/rules.md', 'utf8')).toBe(expected);
  });
  it('documents every rule with its id, version, condition and source', async () => {
    const text = readFileSync('docs/rules.md', 'utf8');
    for (const pack of await loadRulePacks('rules')) {
      for (const rule of pack.rules) {
        expect(text).toContain(`(\`${rule.id}\` ${rule.version})`);
        expect(text).toContain(rule.source.trim().slice(0, 40));
      }
    }
  });
  it('documents the referral routes with their version, and which routes each rule offers', async () => {
    const text = readFileSync('docs/rules.md', 'utf8');
    const routes = await loadReferralRoutes('rules/referral-routes.yaml');
    expect(text).toContain(`(\`referral-routes\` ${routes.version})`);
    for (const route of routes.routes) expect(text).toContain(`| ${route.title} (\`${route.id}\`) |`);
    expect(text).toMatch(/### SpO2 92% or less \(`spo2-emergency`[^#]*Referral routes offered:\*\* high: 999 emergency ambulance/);
  });
});
