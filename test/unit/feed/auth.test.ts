import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenAuthority } from '../../../src/feed/auth.ts';

const secret = 'unit-secret-unit-secret-unit-secret!!';

describe('console tokens', () => {
  it('round-trips the user and her wards', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    const user = await tokens.verify(await tokens.issue({ sub: 'nurse.a', wards: ['w1', 'w2'] }));
    expect(user?.user).toBe('nurse.a');
    expect([...user!.wards]).toEqual(['w1', 'w2']);
  });

  it('refuses a token signed with another key, expired, for another issuer, or without wards', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    const other = createTokenAuthority({ secret: `${secret}-other`, issuer: 'vw' });
    expect(await tokens.verify(await other.issue({ sub: 'x', wards: ['w1'] }))).toBeUndefined();
    expect(await tokens.verify(await tokens.issue({ sub: 'x', wards: ['w1'] }, -10))).toBeUndefined();
    const foreign = createTokenAuthority({ secret, issuer: 'someone-else' });
    expect(await tokens.verify(await foreign.issue({ sub: 'x', wards: ['w1'] }))).toBeUndefined();
    const noWards = await new SignJWT({ wards: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('vw')
      .setAudience('vw-console')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    expect(await tokens.verify(noWards)).toBeUndefined();
    expect(await tokens.verify('not-a-token')).toBeUndefined();
  });

  it('refuses an unsigned token', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'x', wards: ['w1'], iss: 'vw', aud: 'vw-console', exp: 9999999999 })).toString('base64url');
    expect(await tokens.verify(`${header}.${body}.`)).toBeUndefined();
  });
});

describe('console token contents', () => {
  const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  const sign = (claims: Record<string, unknown>, alg = 'HS256') => {
    let jwt = new SignJWT(claims).setProtectedHeader({ alg }).setSubject('nurse.c').setIssuer('vw').setAudience('vw-console');
    if (!('noExp' in claims)) jwt = jwt.setExpirationTime('1h');
    return jwt.sign(new TextEncoder().encode(secret));
  };

  it('lasts 12 hours unless told otherwise, and says when it expires', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    const before = Date.now();
    const user = await tokens.verify(await tokens.issue({ sub: 'nurse.a', wards: ['w1'] }));
    expect(user!.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 12 * 3600_000);
    expect(user!.expiresAt).toBeLessThanOrEqual(Date.now() + 12 * 3600_000);
    const short = await tokens.verify(await tokens.issue({ sub: 'nurse.a', wards: ['w1'] }, 60));
    expect(short!.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(short!.expiresAt).toBeGreaterThan(Date.now() + 55_000);
  });

  it('carries the name and roles when there are any, and the roles back as a set', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    const token = await tokens.issue({ sub: 'dr.b', wards: ['w2'], name: 'Dr B', roles: ['virtual ward consultant'] });
    expect(payloadOf(token)).toMatchObject({ sub: 'dr.b', wards: ['w2'], name: 'Dr B', roles: ['virtual ward consultant'], iss: 'vw', aud: 'vw-console' });
    const user = await tokens.verify(token);
    expect(user).toEqual({ user: 'dr.b', wards: new Set(['w2']), roles: new Set(['virtual ward consultant']), expiresAt: expect.any(Number) });
    const plain = await tokens.issue({ sub: 'nurse.a', wards: ['w1'], roles: [] });
    expect(payloadOf(plain)).not.toHaveProperty('roles');
    expect(payloadOf(plain)).not.toHaveProperty('name');
    expect((await tokens.verify(plain))!.roles).toEqual(new Set());
  });

  it('is for one audience: the console’s unless configured otherwise', async () => {
    const consoleTokens = createTokenAuthority({ secret, issuer: 'vw' });
    const other = createTokenAuthority({ secret, issuer: 'vw', audience: 'vw-planner' });
    const forPlanner = await other.issue({ sub: 'planner', wards: ['w1'] });
    expect(payloadOf(forPlanner).aud).toBe('vw-planner');
    expect(await other.verify(forPlanner)).toMatchObject({ user: 'planner' });
    expect(await consoleTokens.verify(forPlanner)).toBeUndefined();
    expect(await other.verify(await consoleTokens.issue({ sub: 'nurse', wards: ['w1'] }))).toBeUndefined();
  });

  it('refuses a token with no expiry, another algorithm, or claims of the wrong shape', async () => {
    const tokens = createTokenAuthority({ secret, issuer: 'vw' });
    expect(await tokens.verify(await sign({ wards: ['w1'] }))).toMatchObject({ user: 'nurse.c' });
    expect(await tokens.verify(await sign({ wards: ['w1'], noExp: true }))).toBeUndefined();
    expect(await tokens.verify(await sign({ wards: ['w1'] }, 'HS512'))).toBeUndefined();
    expect(await tokens.verify(await sign({ wards: [''] }))).toBeUndefined();
    expect(await tokens.verify(await sign({ wards: 'w1' }))).toBeUndefined();
    expect(await tokens.verify(await sign({ wards: ['w1'], roles: Array.from({ length: 21 }, (_, i) => `r${i}`) }))).toBeUndefined();
    expect(await tokens.verify(await sign({ wards: ['w1'], roles: ['x'.repeat(201)] }))).toBeUndefined();
  });
});
