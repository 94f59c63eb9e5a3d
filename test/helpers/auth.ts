/**
 * Clients and access tokens for tests: a client registered in the directory's own store with a key
 * pair made here (ES384 unless asked otherwise), and a token minted for it by the directory's own
 * Authenticator, exactly as the token endpoint mints them.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import type { RunningDirectory } from '../../src/directory';
import type { ClientRecord } from '../../src/storage/auth-store';

export interface TestClient {
  client: ClientRecord;
  /** The private key as a JWK (with kid and alg), for signing client assertions. */
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface TestClientOptions {
  name?: string;
  organization?: string;
  admin?: boolean;
  /** Allowed scopes; all of Organization and Endpoint by default. */
  scopes?: string[];
  alg?: 'ES384' | 'RS384' | 'ES256' | 'RS256';
  clientId?: string;
}

export const ALL_DIRECTORY_SCOPES = ['system/Organization.cruds', 'system/Endpoint.cruds'];

export async function registerClient(
  dir: RunningDirectory,
  options: TestClientOptions = {},
): Promise<TestClient> {
  const alg = options.alg ?? 'ES384';
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  const client = await dir.store.auth.addClient({
    ...(options.clientId ? { clientId: options.clientId } : {}),
    name: options.name ?? `test client ${kid}`,
    ...(options.organization ? { organization: options.organization } : {}),
    admin: options.admin ?? false,
    scopes: options.scopes ?? ALL_DIRECTORY_SCOPES,
    credentials: { kind: 'jwks', jwks: { keys: [publicJwk as JWK & { kty: string }] } },
  });
  await dir.ctx.access?.authenticator.refresh();
  return { client, privateJwk, publicJwk };
}

/** An access token for the client with `scope` (all it is allowed when absent). */
export async function tokenFor(
  dir: RunningDirectory,
  client: TestClient | ClientRecord,
  scope?: string,
): Promise<string> {
  const record = 'client' in client ? client.client : client;
  const authenticator = dir.ctx.access?.authenticator;
  if (!authenticator) throw new Error('the directory has no access control');
  const issued = await authenticator.mint(record, scope ?? record.scopes.join(' '));
  return issued.accessToken;
}

/** `{authorization: 'Bearer …'}` for a request. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
