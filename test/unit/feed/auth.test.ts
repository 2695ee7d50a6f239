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
