/**
 * Helpers for follower tests: comparing what B holds of a source with what the source (A) holds,
 * in canonical JSON, ignoring what each server writes itself (meta.versionId, lastUpdated, source)
 * and mapping A's ids and references the way the follower derives them (src/sync/local-identity.ts).
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import { localId } from '../../src/sync/local-identity';
import type { ResourceStore } from '../../src/storage/resource-store';

/** Every current resource of `type` in `store`, by id. */
export async function currentResources(store: ResourceStore, type: string): Promise<Map<string, Resource>> {
  const found = new Map<string, Resource>();
  let after: { keys: (string | number)[]; id: string } | undefined;
  do {
    const page = await store.search({
      type,
      conditions: [],
      sort: [],
      count: 1000,
      withTotal: false,
      ...(after ? { after } : {}),
    });
    for (const r of page.records)
      if (r.content !== undefined) found.set(r.id, JSON.parse(r.content) as Resource);
    after = page.next;
  } while (after !== undefined);
  return found;
}

/** Canonical JSON: keys sorted, server meta dropped, and (for A's side) ids and references mapped as a follower maps them. */
export function canonical(resource: Resource, mapId?: (id: string) => string): string {
  const mapped = mapId ? mapReferences(resource, mapId) : resource;
  const { meta, ...rest } = mapped as Resource & { meta?: Record<string, unknown> };
  const { versionId: _v, lastUpdated: _l, source: _s, ...keptMeta } = meta ?? {};
  const body: Record<string, unknown> = {
    ...rest,
    ...(Object.keys(keptMeta).length > 0 ? { meta: keptMeta } : {}),
  };
  if (mapId && typeof body.id === 'string') body.id = mapId(body.id);
  return JSON.stringify(sortKeys(body));
}

function mapReferences(value: unknown, mapId: (id: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapReferences(v, mapId));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const m = k === 'reference' && typeof v === 'string' ? /^(Organization|Endpoint)\/(.+)$/.exec(v) : null;
    out[k] = m ? `${m[1] as string}/${mapId(m[2] as string)}` : mapReferences(v, mapId);
  }
  return out;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** A's resources of `type` as B should hold them (sorted canonical JSON), and B's (only those from `sourceName`). */
export async function comparable(
  a: ResourceStore,
  b: ResourceStore,
  type: string,
  sourceName: string,
): Promise<{ expected: string[]; actual: string[] }> {
  const mapId = (id: string): string => localId(sourceName, id);
  const expected = [...(await currentResources(a, type)).values()].map((r) => canonical(r, mapId)).sort();
  const actual = [...(await currentResources(b, type)).values()]
    .filter((r) => r.id?.startsWith(`${sourceName}.`))
    .map((r) => canonical(r))
    .sort();
  return { expected, actual };
}

/** A Luhn-valid NPI (US Core's rule: prefix 80840, then the 10 digits) for test entry `n`. */
export function npi(n: number): string {
  const base = `1${String(n).padStart(8, '0')}`;
  const digits = `80840${base}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i] as number;
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return `${base}${(10 - (sum % 10)) % 10}`;
}

export interface FakeUpstream {
  /** The FHIR base (`http(s)://127.0.0.1:PORT/fhir`). */
  base: string;
  close(): Promise<void>;
}

/** Serves `app` on a free port of 127.0.0.1 (over TLS with `tls`), FHIR base `/fhir`. */
export async function startFake(app: RequestListener, tls?: ServerOptions): Promise<FakeUpstream> {
  const server = tls ? createHttpsServer(tls, app) : createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/fhir`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A fake upstream's gate (express middleware shape): a request whose Authorization header is not
 * `expected` gets 401 with a `login` OperationOutcome, as Carequality's directory answers without its key.
 */
export function requireAuthorization(
  expected: string,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    if (req.headers.authorization === expected) return next();
    res.statusCode = 401;
    res.setHeader('content-type', 'application/fhir+json');
    res.end(
      JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }),
    );
  };
}
