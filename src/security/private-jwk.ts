/** A client's private JWK, read from a file, and the algorithm it signs with (the token command, sync's SMART client). */
import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';

/** The signing algorithm: the JWK's own `alg`, else the SMART default for its key type. */
export function algorithmOf(jwk: JWK): string {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  throw new Error('the key has no alg and its key type is not RSA, P-256 or P-384');
}

export async function readPrivateKey(file: string): Promise<JWK> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (err) {
    throw new Error(`cannot read the private JWK from ${file}: ${(err as Error).message}`);
  }
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string' || !jwk.d)
    throw new Error(`${file} does not hold a private JWK (kty and d)`);
  if (!jwk.kid) throw new Error(`the key in ${file} has no kid; the directory finds the client's key by it`);
  return jwk;
}
