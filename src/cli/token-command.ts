/**
 * `fhir-directory token --client-id ID --key KEY.json [--scope "…"] [--url BASE]`: runs the SMART
 * Backend Services flow against a running directory, as any client would: reads the token endpoint
 * from `{BASE}/.well-known/smart-configuration`, signs a client assertion with the private JWK (its
 * `alg`, or RS384 / ES256 / ES384 from its key type; its `kid`), posts it and prints the access token
 * alone on stdout, so `TOKEN=$(fhir-directory token …)` works. Any refusal goes to stderr, exit 1.
 * The key never leaves the process and is never printed.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { algorithmOf, readPrivateKey } from '../security/private-jwk';
import type { CliIo } from './cli-io';

const USAGE =
  'Usage: fhir-directory token --client-id ID --key KEY.json [--scope "system/Endpoint.cud …"] [--url http://localhost:8080/fhir]\n';

/** Without --scope: everything the client may be granted (the directory reduces the wildcard to it). */
export const DEFAULT_TOKEN_SCOPE = 'system/*.cruds system/introspect';
const DEFAULT_URL = 'http://localhost:8080/fhir';
const REQUEST_TIMEOUT_MS = 15_000;
/** Under SMART's five-minute ceiling, with room for a clock that runs a little fast. */
const ASSERTION_LIFETIME_SECONDS = 240;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface TokenArgs {
  clientId: string;
  keyFile: string;
  scope: string;
  url: string;
}

function parseArgs(args: string[]): TokenArgs | undefined {
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i] as string;
    const value = args[i + 1];
    if (!['--client-id', '--key', '--scope', '--url'].includes(name) || value === undefined) return undefined;
    values[name] = value;
  }
  const clientId = values['--client-id'];
  const keyFile = values['--key'];
  if (!clientId || !keyFile) return undefined;
  return {
    clientId,
    keyFile,
    scope: values['--scope'] ?? DEFAULT_TOKEN_SCOPE,
    url: (values['--url'] ?? DEFAULT_URL).replace(/\/+$/, ''),
  };
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach ${url}${cause ? ` (${cause})` : ''}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: undefined };
  }
}

async function discoverTokenEndpoint(baseUrl: string): Promise<string> {
  const url = `${baseUrl}/.well-known/smart-configuration`;
  const { status, body } = await fetchJson(url, { headers: { accept: 'application/json' } });
  const endpoint = (body as { token_endpoint?: unknown } | undefined)?.token_endpoint;
  if (status !== 200 || typeof endpoint !== 'string')
    throw new Error(
      `${url} answered ${status} without a token_endpoint; is --url the directory's FHIR base?`,
    );
  return endpoint;
}

export async function runToken(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed) {
    io.stderr.write(USAGE);
    return 2;
  }
  const jwk = await readPrivateKey(parsed.keyFile);
  const alg = algorithmOf(jwk);
  const tokenEndpoint = await discoverTokenEndpoint(parsed.url);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuer(parsed.clientId)
    .setSubject(parsed.clientId)
    .setAudience(tokenEndpoint)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(await importJWK(jwk, alg));
  const { status, body } = await fetchJson(tokenEndpoint, {
    method: 'POST',
    headers: { accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      scope: parsed.scope,
    }),
  });
  const answer = (body ?? {}) as { access_token?: unknown; error?: unknown; error_description?: string };
  if (status !== 200 || typeof answer.access_token !== 'string') {
    const reason =
      typeof answer.error === 'string'
        ? `${answer.error}: ${answer.error_description ?? ''}`
        : 'no token in the answer';
    throw new Error(`the token endpoint ${tokenEndpoint} answered ${status} (${reason})`);
  }
  io.stdout.write(`${answer.access_token}\n`);
  return 0;
}
