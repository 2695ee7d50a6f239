import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';

/**
 * Console tokens: HS256 JWTs naming the user and the wards she may see. The claims are the only
 * source of ward access; a console can subscribe to nothing else.
 */
export const ConsoleClaims = z.object({
  sub: z.string().min(1),
  wards: z.array(z.string().min(1)).min(1),
  name: z.string().optional(),
  /** The roles escalation ladders name that this person holds (e.g. "virtual ward consultant"): they get the banner when those are notified. */
  roles: z.array(z.string().min(1).max(200)).max(20).optional(),
});
export type ConsoleClaims = z.infer<typeof ConsoleClaims>;

export interface ConsoleUser {
  user: string;
  wards: ReadonlySet<string>;
  roles: ReadonlySet<string>;
  expiresAt: number;
}

export function createTokenAuthority(options: { secret: string; issuer: string; audience?: string }) {
  const key = new TextEncoder().encode(options.secret);
  const audience = options.audience ?? 'vw-console';
  return {
    async issue(claims: ConsoleClaims, ttlSeconds = 12 * 3600): Promise<string> {
      return new SignJWT({ wards: claims.wards, ...(claims.name ? { name: claims.name } : {}), ...(claims.roles?.length ? { roles: claims.roles } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(claims.sub)
        .setIssuer(options.issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key);
    },
    /** Resolves the user, or undefined for any token that is not valid now. */
    async verify(token: string): Promise<ConsoleUser | undefined> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: options.issuer, audience, algorithms: ['HS256'] });
        const claims = ConsoleClaims.safeParse(payload);
        if (!claims.success || payload.exp === undefined) return undefined;
        return { user: claims.data.sub, wards: new Set(claims.data.wards), roles: new Set(claims.data.roles ?? []), expiresAt: payload.exp * 1000 };
      } catch {
        return undefined;
      }
    },
  };
}
export type TokenAuthority = ReturnType<typeof createTokenAuthority>;
