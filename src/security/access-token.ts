/**
 * Access tokens: short JWTs signed with HS256 under the secret every server process on the database
 * shares (AuthStore.tokenSecret), so any process checks any process's token with one HMAC and no
 * query. What a token may do is re-read from the client's current record on every use
 * (authenticator.ts), so disabling a client or narrowing its scopes takes effect at once.
 */
import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

export interface AccessTokenClaims {
  /** The client (`sub`). */
  clientId: string;
  /** Granted scopes, space-separated. */
  scope: string;
  /** Epoch seconds. */
  issuedAt: number;
  expiresAt: number;
  /** The token's own id. */
  tokenId: string;
}

export interface TokenSigner {
  /** The token endpoint's issuer (the directory's origin) and the audience: the FHIR base URL. */
  issuer: string;
  audience: string;
  secret: Uint8Array;
}

export async function signAccessToken(
  signer: TokenSigner,
  clientId: string,
  scope: string,
  ttlSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ token: string; claims: AccessTokenClaims }> {
  const claims: AccessTokenClaims = {
    clientId,
    scope,
    issuedAt: nowSeconds,
    expiresAt: nowSeconds + ttlSeconds,
    tokenId: randomBytes(12).toString('base64url'),
  };
  const token = await new SignJWT({ scope, client_id: clientId })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer(signer.issuer)
    .setAudience(signer.audience)
    .setSubject(clientId)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .setJti(claims.tokenId)
    .sign(signer.secret);
  return { token, claims };
}

export type TokenCheck =
  { ok: true; claims: AccessTokenClaims } | { ok: false; expired: boolean; reason: string };

/** Checks signature, issuer, audience and expiry (no clock tolerance: the directory made it). */
export async function verifyAccessToken(
  signer: TokenSigner,
  token: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<TokenCheck> {
  try {
    const { payload } = await jwtVerify(token, signer.secret, {
      algorithms: ['HS256'],
      issuer: signer.issuer,
      audience: signer.audience,
      typ: 'at+jwt',
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    });
    if (typeof payload.scope !== 'string')
      return { ok: false, expired: false, reason: 'the token has no scope' };
    return {
      ok: true,
      claims: {
        clientId: payload.sub as string,
        scope: payload.scope,
        issuedAt: payload.iat as number,
        expiresAt: payload.exp as number,
        tokenId: payload.jti as string,
      },
    };
  } catch (err) {
    if (err instanceof errors.JWTExpired)
      return { ok: false, expired: true, reason: 'the access token has expired' };
    if (err instanceof errors.JWTClaimValidationFailed)
      return {
        ok: false,
        expired: false,
        reason: `the access token was not issued for this server (${err.claim})`,
      };
    return { ok: false, expired: false, reason: 'the access token is not one this directory issued' };
  }
}
