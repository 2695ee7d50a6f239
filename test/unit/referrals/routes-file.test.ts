import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { AlertSeverity } from '../../../src/domain/index.ts';
import { createRouteCatalogue, loadReferralRoutes, parseReferralRoutes, type ReferralRoutesFile } from '../../../src/referrals/routes-file.ts';
import { loadRulePacks } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../../src/rules/news2/rule-file.ts';

/** Referral routes as rule data: the shipped file, how a bad file is refused, and which routes an alert offers. */
const FILE = 'rules/referral-routes.yaml';
let shipped: ReferralRoutesFile;
let text: string;
beforeAll(async () => {
  shipped = await loadReferralRoutes(FILE);
  text = await readFile(FILE, 'utf8');
});

/** The shipped file with one change made to its parsed YAML, back as text. */
function edited(change: (doc: Record<string, any>) => void): string {
  const doc = parse(text) as Record<string, any>;
  change(doc);
  return stringify(doc);
}

const ids = (routes: { id: string }[]) => routes.map((r) => r.id);
const alert = (ruleId: string, severity: AlertSeverity) => ({ ruleId, severity });

describe('the shipped referral routes', () => {
  it('parses, with a version and the six routes in the order the console shows them', () => {
    expect(shipped.catalogue).toBe('referral-routes');
    expect(shipped.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ids(shipped.routes)).toEqual(['ambulance-999', 'sdec-ed', 'urgent-community-response', 'nhs111-clinical-assessment', 'same-day-gp', 'virtual-ward-home-visit']);
    const catalogue = createRouteCatalogue(shipped);
    expect(catalogue.version).toBe(shipped.version);
    expect(catalogue.route('ambulance-999')).toMatchObject({ service: 'ambulance', priority: 'stat', capacity: ['c2.mean', 'c2.p90', 'handover.mean'] });
    expect(catalogue.route('urgent-community-response')).toMatchObject({ service: 'community', priority: 'asap', urgency: 'within 2 hours' });
    expect(catalogue.route('nope')).toBeUndefined();
    expect(ids(catalogue.all())).toEqual(ids(shipped.routes));
    expect(ids(catalogue.patientRoutes())).toEqual(shipped.patientRoutes);
  });

  it('names only rules the shipped packs define', async () => {
    const packs = await loadRulePacks('rules');
    const news2 = await loadNews2Rule('rules/news2.yaml');
    const defined = new Set([news2.id, ...packs.flatMap((p) => p.rules.map((r) => r.id))]);
    const named = shipped.offers.flatMap((o) => (o.rules === 'all' ? [] : o.rules));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((id) => !defined.has(id))).toEqual([]);
  });

  it('offers at least one route for every rule the packs define, at every severity they raise', async () => {
    const packs = await loadRulePacks('rules');
    const catalogue = createRouteCatalogue(shipped);
    for (const rule of packs.flatMap((p) => p.rules)) {
      const severities = new Set<AlertSeverity>([rule.severity, ...rule.levels.map((l) => l.severity), ...rule.escalation.map((e) => e.to)]);
      for (const severity of severities) expect(catalogue.offeredFor(alert(rule.id, severity)).length, `${rule.id} ${severity}`).toBeGreaterThan(0);
    }
  });
});

describe('offeredFor', () => {
  it('takes the first offer matching the alert’s rule and severity, in the file’s order', () => {
    const catalogue = createRouteCatalogue(shipped);
    // NEWS2 high matches the first offer: the second, which also names news2 at high, is never reached.
    expect(ids(catalogue.offeredFor(alert('news2', 'high')))).toEqual(['ambulance-999', 'sdec-ed', 'urgent-community-response']);
    expect(ids(catalogue.offeredFor(alert('spo2-emergency', 'high')))).toEqual(['ambulance-999', 'sdec-ed', 'urgent-community-response', 'nhs111-clinical-assessment']);
    expect(ids(catalogue.offeredFor(alert('news2', 'medium')))).toEqual(['urgent-community-response', 'virtual-ward-home-visit', 'sdec-ed', 'nhs111-clinical-assessment', 'same-day-gp']);
    // Named by no offer: `rules: all` catches it.
    expect(ids(catalogue.offeredFor(alert('no-spo2-data', 'medium')))).toEqual(['virtual-ward-home-visit', 'same-day-gp', 'nhs111-clinical-assessment', 'urgent-community-response']);
    expect(ids(catalogue.offeredFor(alert('news2', 'low-medium')))).toEqual(['virtual-ward-home-visit', 'same-day-gp', 'nhs111-clinical-assessment', 'urgent-community-response']);
  });

  it('offers nothing when no offer matches, and follows the order of offers, not their specificity', () => {
    const file = parseReferralRoutes('t.yaml', edited((doc) => {
      doc.offers = [
        { rules: 'all', severity: ['high'], routes: ['same-day-gp'] },
        { rules: ['news2'], severity: ['high', 'medium'], routes: ['ambulance-999', 'sdec-ed'] },
      ];
    }));
    const catalogue = createRouteCatalogue(file);
    expect(ids(catalogue.offeredFor(alert('news2', 'high')))).toEqual(['same-day-gp']);
    expect(ids(catalogue.offeredFor(alert('news2', 'medium')))).toEqual(['ambulance-999', 'sdec-ed']);
    expect(catalogue.offeredFor(alert('news2', 'low-medium'))).toEqual([]);
    expect(catalogue.offeredFor(alert('bp-severe', 'medium'))).toEqual([]);
  });
});

describe('a routes file that is wrong', () => {
  it('is refused when an offer names an unknown route, naming the route and where', () => {
    const bad = edited((doc) => doc.offers[2].routes.push('helicopter'));
    expect(() => parseReferralRoutes('routes.yaml', bad)).toThrow('routes.yaml: offers.2.routes names unknown route helicopter');
  });

  it('is refused when patientRoutes names an unknown route', () => {
    const bad = edited((doc) => (doc.patientRoutes = ['same-day-gp', 'pharmacy']));
    expect(() => parseReferralRoutes('routes.yaml', bad)).toThrow('routes.yaml: patientRoutes names unknown route pharmacy');
  });

  it('is refused when a route is listed twice', () => {
    const bad = edited((doc) => doc.routes.push({ ...doc.routes[0] }));
    expect(() => parseReferralRoutes('routes.yaml', bad)).toThrow('route ambulance-999 is listed twice');
  });

  it('names the field at fault in a schema violation', () => {
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.version = '1.0')))).toThrow(/r\.yaml: version: a semantic version/);
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.routes[1].priority = 'soon')))).toThrow(/r\.yaml: routes\.1\.priority: /);
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.routes[0].capacity = ['c9.mean'])))).toThrow(/r\.yaml: routes\.0\.capacity\.0: /);
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.offers[0].severity = ['urgent'])))).toThrow(/r\.yaml: offers\.0\.severity\.0: /);
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.routes[2].colour = 'red')))).toThrow(/r\.yaml: routes\.2: .*colour/);
    expect(() => parseReferralRoutes('r.yaml', edited((doc) => (doc.routes[0].id = 'Ambulance 999')))).toThrow(/routes\.0\.id: lower-case letters/);
  });

  it('is refused when it is not YAML', () => {
    expect(() => parseReferralRoutes('r.yaml', 'routes: [unclosed')).toThrow(/r\.yaml: not valid YAML/);
  });
});
