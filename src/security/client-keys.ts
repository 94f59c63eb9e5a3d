/**
 * The keys a client proves itself with (SMART Backend Services, "Registering a client"): a JWKS of
 * public keys or the https URL it is published at. Checked here once for the CLI and the admin API,
 * so nothing that would fail at the token endpoint, and no private key, is ever registered. And the
 * key pair `clients add --generate-key` makes for a client that has none yet.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { PublicJwk } from '../storage/auth-store';

/** One thing wrong with a registration, and where (`jwks.keys[0].d`, `scopes`, `organization`). */
export interface RegistrationProblem {
  field: string;
  message: string;
}

/** The algorithms the token endpoint verifies client assertions with (SMART: RS384 and ES384; also RS256, ES256). */
export const CLIENT_KEY_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['RS384', 'RS256'],
  EC: ['ES384', 'ES256'],
};

const EC_CURVES: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384' };

/** RFC 7518 §6: members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Keys in one JWKS: enough for a rotation with room to spare; a JWKS is stored with the client. */
export const MAX_KEYS = 10;
const MIN_RSA_BITS = 2048;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkKeyMembers(key: Record<string, unknown>, at: string): RegistrationProblem[] {
  const problems: RegistrationProblem[] = [];
  const present = PRIVATE_MEMBERS.filter((m) => m in key);
  if (present.length > 0)
    return [
      {
        field: `${at}.${present[0]}`,
        message: `is private key material (${present.join(', ')}): register the PUBLIC key only; the private key stays with the client`,
      },
    ];
  if (typeof key.kid !== 'string' || key.kid === '')
    problems.push({ field: `${at}.kid`, message: 'is required (SMART: every key has a kid)' });
  const algs = typeof key.kty === 'string' ? CLIENT_KEY_ALGORITHMS[key.kty] : undefined;
  if (!algs) {
    problems.push({ field: `${at}.kty`, message: 'must be RSA or EC' });
    return problems;
  }
  if (key.alg !== undefined && (typeof key.alg !== 'string' || !algs.includes(key.alg)))
    problems.push({
      field: `${at}.alg`,
      message: `must be one of ${algs.join(', ')} for a ${key.kty as string} key`,
    });
  if (key.use !== undefined && key.use !== 'sig')
    problems.push({ field: `${at}.use`, message: 'must be "sig" (the key signs client assertions)' });
  if (key.kty === 'RSA') {
    for (const m of ['n', 'e'])
      if (typeof key[m] !== 'string')
        problems.push({ field: `${at}.${m}`, message: 'is required for an RSA key' });
    if (typeof key.n === 'string' && Buffer.from(key.n, 'base64url').length * 8 < MIN_RSA_BITS)
      problems.push({ field: `${at}.n`, message: `is shorter than ${MIN_RSA_BITS} bits` });
  } else {
    if (typeof key.crv !== 'string' || !(key.crv in EC_CURVES))
      problems.push({ field: `${at}.crv`, message: `must be one of ${Object.keys(EC_CURVES).join(', ')}` });
    for (const m of ['x', 'y'])
      if (typeof key[m] !== 'string')
        problems.push({ field: `${at}.${m}`, message: 'is required for an EC key' });
  }
  return problems;
}

/** A key that passed the member checks must also be one jose can import (a real point, a real modulus). */
async function checkImportable(key: Record<string, unknown>, at: string): Promise<RegistrationProblem[]> {
  const alg =
    typeof key.alg === 'string'
      ? key.alg
      : key.kty === 'RSA'
        ? 'RS384'
        : (EC_CURVES[key.crv as string] ?? 'ES384');
  try {
    await importJWK(key as JWK, alg);
    return [];
  } catch (err) {
    return [{ field: at, message: `is not a usable ${alg} public key (${(err as Error).message})` }];
  }
}

/**
 * Checks a JWKS for registration: `{keys: [...]}` with 1 to MAX_KEYS public RSA or EC keys, each
 * with `kty` and a `kid` unique in the set, no private member, an `alg` (when given) the token
 * endpoint accepts. Returns every problem, each with its place (`jwks.keys[1].kid`).
 */
export async function checkJwks(value: unknown, field = 'jwks'): Promise<RegistrationProblem[]> {
  if (!isObject(value) || !Array.isArray(value.keys))
    return [{ field, message: 'must be a JWKS: an object with a "keys" array of public JWKs' }];
  const keys: unknown[] = value.keys;
  if (keys.length === 0) return [{ field: `${field}.keys`, message: 'has no key' }];
  if (keys.length > MAX_KEYS) return [{ field: `${field}.keys`, message: `has more than ${MAX_KEYS} keys` }];
  const problems: RegistrationProblem[] = [];
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    const at = `${field}.keys[${i}]`;
    if (!isObject(key)) {
      problems.push({ field: at, message: 'is not a JWK (an object)' });
      continue;
    }
    const found = checkKeyMembers(key, at);
    if (found.length === 0) found.push(...(await checkImportable(key, at)));
    problems.push(...found);
    if (typeof key.kid === 'string') {
      if (kids.has(key.kid))
        problems.push({ field: `${at}.kid`, message: `"${key.kid}" is used by another key in the set` });
      kids.add(key.kid);
    }
  }
  return problems;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A JWKS URL: https, or http to this machine only (tests, a local key server); no credentials, no fragment. */
export function checkJwksUrl(value: unknown, field = 'jwks_url'): RegistrationProblem[] {
  if (typeof value !== 'string' || !URL.canParse(value))
    return [{ field, message: 'must be an absolute https URL' }];
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)))
    return [{ field, message: 'must be https (http only for localhost or 127.0.0.1)' }];
  if (url.username !== '' || url.password !== '')
    return [{ field, message: 'must not carry a user name or password' }];
  if (url.hash !== '') return [{ field, message: 'must not have a fragment' }];
  return [];
}

export interface GeneratedKey {
  publicJwk: PublicJwk;
  /** The private key as a JWK with kid, alg and use: what `fhir-directory token --key` reads. */
  privateJwk: JWK;
}

/** A new ES384 key pair; kid = the public key's RFC 7638 thumbprint, so the same key always has the same kid. */
export async function generateClientKey(): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const publicPart = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicPart);
  const publicJwk = { ...publicPart, kid, alg: 'ES384', use: 'sig' } as PublicJwk;
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  return { publicJwk, privateJwk };
}
