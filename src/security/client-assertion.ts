/**
 * Verifies a SMART Backend Services client assertion (SMART App Launch 2.2
 * client-confidential-asymmetric.html, RFC 7523 §3) against the client it names: the header
 * (`alg` on the allow-list, `kid` required, `typ` JWT when present, `jku` only the registered JWKS
 * URL), the key (the one key of the client's JWKS whose `kid` matches and whose `kty` fits `alg`),
 * the signature and the claims (`iss` = `sub` = client id, `aud` the token endpoint URL exactly, `exp`
 * in the future and at most five minutes ahead, `nbf` not in the future, `jti` present). Every
 * failure is one reason in words; the caller answers it as `invalid_client`. The jti replay check is
 * the caller's (it needs the database, after the signature has been verified).
 *
 * Decisions: `typ` may be absent (RFC 7523 does not require it; SMART does, and Inferno sends it), but
 * when present it must be `JWT`. `iat` is not required (Inferno sends none). Clocks may differ by
 * CLOCK_SKEW_SECONDS, on `exp` and `nbf` alike.
 */
import { decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify, type JWTPayload } from 'jose';
import type { ClientRecord, PublicJwk } from '../storage/auth-store';
import type { JwksSource } from './jwks-source';

/** RS384 and ES384 are SMART's; RS256 and ES256 UDAP's. Never `none`, never HMAC (HS*). */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384', 'RS256', 'ES256'] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];

/** SMART: `exp` "SHALL be no more than five minutes in the future". */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Tolerated clock difference between a client and the directory. */
export const CLOCK_SKEW_SECONDS = 60;
/** Longest `kid`, `iss` and `jti` taken (they are keys and log values, not documents). */
const MAX_IDENTIFIER_LENGTH = 256;

export interface AssertionContext {
  /** The token endpoint URL: the only `aud` accepted. */
  tokenEndpoint: string;
  /** The registered client with this id, or undefined. */
  findClient: (clientId: string) => Promise<ClientRecord | undefined>;
  jwks: JwksSource;
  /** The form's `client_id`, when the request sent one. */
  formClientId?: string;
  /** Seconds since the epoch. */
  now?: number;
}

export type AssertionCheck =
  | { ok: true; client: ClientRecord; jti: string; expiresAt: number }
  /** `client`: the registered client the assertion named, when it named one. */
  | { ok: false; reason: string; client?: ClientRecord };

const isAllowedAlgorithm = (alg: unknown): alg is AssertionAlgorithm =>
  typeof alg === 'string' && (ASSERTION_ALGORITHMS as readonly string[]).includes(alg);

const isIdentifier = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_IDENTIFIER_LENGTH;

interface AssertionHeader {
  alg: AssertionAlgorithm;
  kid: string;
  jku?: string;
}

function readHeader(assertion: string): AssertionHeader | string {
  // A JWS in compact form has three parts; a JWE (five) or anything else is not an assertion.
  if (assertion.split('.').length !== 3) return 'the client_assertion is not a signed JWT (JWS compact form)';
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return 'the client_assertion header cannot be read';
  }
  if (!isAllowedAlgorithm(header.alg))
    return `the assertion's alg ${JSON.stringify(String(header.alg)).slice(0, 40)} is not one of ${ASSERTION_ALGORITHMS.join(', ')}`;
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT'))
    return 'the assertion header typ is not JWT';
  if (!isIdentifier(header.kid)) return 'the assertion header has no kid';
  if (header.jku !== undefined && typeof header.jku !== 'string')
    return 'the assertion header jku is not a URL';
  return { alg: header.alg, kid: header.kid, ...(header.jku !== undefined ? { jku: header.jku } : {}) };
}

function unverifiedClaims(assertion: string): JWTPayload | undefined {
  try {
    return decodeJwt(assertion);
  } catch {
    return undefined;
  }
}

/** The `iss` an assertion claims, unverified: to key the rate limit before anything is checked. */
export function claimedIssuer(assertion: string | null | undefined): string | undefined {
  if (!assertion) return undefined;
  const iss = unverifiedClaims(assertion)?.iss;
  return isIdentifier(iss) ? iss : undefined;
}

/** Whether a registered JWK may verify `alg` under `kid` (SMART step 3: kid matches, kty fits alg). */
function keyFits(jwk: PublicJwk, header: AssertionHeader): boolean {
  if (jwk.kid !== header.kid) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.alg !== undefined && jwk.alg !== header.alg) return false;
  if (header.alg.startsWith('RS')) return jwk.kty === 'RSA';
  return jwk.kty === 'EC' && jwk.crv === (header.alg === 'ES256' ? 'P-256' : 'P-384');
}

/** The public members only ("bare key"): a registered JWK that also carries `d` stays a public key. */
function bareKey(jwk: PublicJwk): Record<string, unknown> {
  return jwk.kty === 'RSA'
    ? { kty: jwk.kty, n: jwk.n, e: jwk.e }
    : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** The one key of the client's set that fits, or why there is none. A cached set is re-read once on a miss. */
async function selectKey(
  client: ClientRecord,
  header: AssertionHeader,
  jwks: JwksSource,
): Promise<PublicJwk | string> {
  if (header.jku !== undefined) {
    // SMART: a jku must be the registered JWKS URL; anything else is refused before any fetch.
    if (client.credentials.kind !== 'jwks_url' || client.credentials.url !== header.jku)
      return "the assertion's jku is not the client's registered JWKS URL";
  }
  let answer = await jwks.keysOf(client.credentials);
  let fitting = answer.ok ? answer.keys.filter((k) => keyFits(k, header)) : [];
  if (answer.ok && answer.fromCache && fitting.length === 0) {
    answer = await jwks.keysOf(client.credentials, true);
    fitting = answer.ok ? answer.keys.filter((k) => keyFits(k, header)) : [];
  }
  if (!answer.ok) return answer.reason;
  if (fitting.length === 0)
    return `no key of the client's JWKS has kid ${JSON.stringify(header.kid).slice(0, 80)} and fits ${header.alg}`;
  if (fitting.length > 1)
    return `more than one key of the client's JWKS has kid ${JSON.stringify(header.kid).slice(0, 80)}`;
  return fitting[0] as PublicJwk;
}

function claimProblem(err: unknown): string {
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return "the assertion's signature does not verify with the client's key";
  if (err instanceof errors.JWTExpired) return 'the assertion has expired (exp)';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the assertion has no ${err.claim} claim`;
    switch (err.claim) {
      case 'aud':
        return "the assertion's aud is not this directory's token endpoint URL";
      case 'nbf':
        return 'the assertion is not valid yet (nbf)';
      case 'iss':
      case 'sub':
        return 'the assertion must have iss and sub equal to the client id';
      default:
        return `the assertion's ${err.claim} claim is not valid`;
    }
  }
  if (err instanceof errors.JOSEError) return 'the assertion could not be verified';
  return 'the assertion could not be verified';
}

export async function verifyClientAssertion(
  assertion: string,
  context: AssertionContext,
): Promise<AssertionCheck> {
  const now = context.now ?? Math.floor(Date.now() / 1000);
  const header = readHeader(assertion);
  if (typeof header === 'string') return { ok: false, reason: header };
  const claims = unverifiedClaims(assertion);
  if (!claims) return { ok: false, reason: 'the client_assertion payload is not a JSON claims set' };
  if (!isIdentifier(claims.iss)) return { ok: false, reason: 'the assertion has no iss (the client id)' };
  const client = await context.findClient(claims.iss);
  if (!client) return { ok: false, reason: 'the assertion names no registered client (iss)' };
  const refuse = (reason: string): AssertionCheck => ({ ok: false, reason, client });
  if (client.disabled) return refuse('the client is disabled');
  if (claims.sub !== claims.iss) return refuse('the assertion must have iss and sub equal to the client id');
  if (context.formClientId !== undefined && context.formClientId !== claims.iss)
    return refuse("the form's client_id is not the assertion's iss");

  const jwk = await selectKey(client, header, context.jwks);
  if (typeof jwk === 'string') return refuse(jwk);
  let payload: JWTPayload;
  try {
    const key = await importJWK(bareKey(jwk), header.alg);
    ({ payload } = await jwtVerify(assertion, key, {
      algorithms: [header.alg],
      issuer: client.clientId,
      subject: client.clientId,
      audience: context.tokenEndpoint,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(now * 1000),
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (err) {
    return refuse(claimProblem(err));
  }
  const exp = payload.exp as number;
  if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS)
    return refuse(`the assertion's exp is more than ${MAX_ASSERTION_LIFETIME_SECONDS} s ahead`);
  if (!isIdentifier(payload.jti)) return refuse('the assertion has no usable jti');
  return { ok: true, client, jti: payload.jti, expiresAt: exp };
}
