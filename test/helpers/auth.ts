/**
 * Clients and access tokens for tests: a client registered in the directory's own store with a key
 * pair made here (ES384 unless asked otherwise), and a token minted for it by the directory's own
 * Authenticator, exactly as the token endpoint mints them; or, with getToken, obtained through the
 * real flow over HTTP (a signed client assertion posted to /auth/token).
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import type { RunningDirectory } from '../../src/directory';
import { tokenEndpointOf } from '../../src/security/access-control';
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
  dir: { store: Pick<RunningDirectory['store'], 'auth'>; ctx: Pick<RunningDirectory['ctx'], 'access'> },
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

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface AssertionOverrides {
  /** Merged into the protected header (`alg`, `kid`, `typ`, `jku`); a value of undefined removes it. */
  header?: Record<string, unknown>;
  /** Merged into the claims; a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  /** Sign with this private JWK instead of the client's. */
  key?: JWK;
}

const defined = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));

/**
 * A client assertion as SMART Backend Services clients (and Inferno) make them: header
 * `{alg, kid, typ: JWT}`, claims `{iss, sub, aud: the token endpoint, exp: now + 4 min, jti}`, no iat.
 */
export async function assertionFor(
  dir: Pick<RunningDirectory, 'baseUrl'>,
  client: TestClient,
  overrides: AssertionOverrides = {},
): Promise<string> {
  const key = overrides.key ?? client.privateJwk;
  const header = defined({ alg: key.alg, kid: key.kid, typ: 'JWT', ...overrides.header });
  const claims = defined({
    iss: client.client.clientId,
    sub: client.client.clientId,
    aud: tokenEndpointOf(dir.baseUrl),
    exp: Math.floor(Date.now() / 1000) + 240,
    jti: randomBytes(16).toString('hex'),
    ...overrides.claims,
  });
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(await importJWK(key, String(header.alg)));
}

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs a form to the directory's token endpoint (or `path` on its origin). */
export async function postForm(
  dir: Pick<RunningDirectory, 'baseUrl'>,
  form: Record<string, string>,
  headers: Record<string, string> = {},
  path = '/auth/token',
): Promise<TokenAnswer> {
  const response = await fetch(`${new URL(dir.baseUrl).origin}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

/** The form of a good token request for `assertion`. */
export const tokenForm = (assertion: string, scope: string): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_assertion_type: JWT_BEARER,
  client_assertion: assertion,
  scope,
});

/** An access token through the real flow: a fresh assertion posted to POST /auth/token. */
export async function getToken(
  dir: Pick<RunningDirectory, 'baseUrl'>,
  client: TestClient,
  scope?: string,
): Promise<string> {
  const answer = await postForm(
    dir,
    tokenForm(await assertionFor(dir, client), scope ?? client.client.scopes.join(' ')),
  );
  if (answer.status !== 200)
    throw new Error(`the token endpoint answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { access_token: string }).access_token;
}
