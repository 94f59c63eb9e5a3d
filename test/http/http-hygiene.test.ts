/**
 * HTTP hygiene: every malformed, oversized, hostile or misrouted request gets a precise 4xx with an
 * OperationOutcome (application/fhir+json), never a 5xx; and an unexpected error is a 500 that leaks
 * nothing but a request id.
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperationOutcome } from '@medplum/fhirtypes';
import express from 'express';
import { errorHandler } from '../../src/http/error-handler';
import { requestContext } from '../../src/http/request-context';
import { createLogger } from '../../src/logger';
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: OperationOutcome | undefined;
}

function parse(text: string): OperationOutcome | undefined {
  try {
    return JSON.parse(text) as OperationOutcome;
  } catch {
    return undefined;
  }
}

/** A request through node:http, for what fetch will not send (no Content-Type with a body, a lying Content-Length). */
function rawRequest(
  url: string,
  method: string,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** expectOutcome for a node:http response. */
function expectRawOutcome(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  expect(res.body?.resourceType).toBe('OperationOutcome');
  expect(res.body?.issue?.length).toBeGreaterThan(0);
}

/** The response of an upload that is still in progress, or a rejection after `ms` without one. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no response within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Collects a response's body; a server closing the connection right after it is not an error here. */
function collect(res: import('node:http').IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parse(text) });
    };
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}

/** What a prototype pollution would have left on every object. */
const polluted = (): unknown => (({}) as Record<string, unknown>)['polluted'];

const ISSUE_EXPRESSIONS = (res: FhirResponse): string[] =>
  (res.body.issue as Array<{ expression?: string[] }>).flatMap((i) => i.expression ?? []);

describe('request Content-Type', () => {
  it.each(['text/plain', 'application/xml'])(
    'answers 415 to a POST with Content-Type %s',
    async (contentType) => {
      const res = await call('POST', dir.url('/Organization'), JSON.stringify(organization()), {
        'content-type': contentType,
      });
      expectOutcome(res, 415);
      expect(res.body.issue[0].code).toBe('not-supported');
    },
  );

  it('answers 415 to a PUT with Content-Type text/plain', async () => {
    const res = await call(
      'PUT',
      dir.url('/Organization/ct-put'),
      JSON.stringify(organization({ id: 'ct-put' })),
      { 'content-type': 'text/plain' },
    );
    expectOutcome(res, 415);
    expectOutcome(await call('GET', dir.url('/Organization/ct-put')), 404);
  });

  it('answers 415 to a body sent without any Content-Type', async () => {
    const body = JSON.stringify(organization());
    const res = await rawRequest(
      dir.url('/Organization'),
      'POST',
      { 'content-length': Buffer.byteLength(body), accept: 'application/fhir+json' },
      body,
    );
    expectRawOutcome(res, 415);
  });

  it('answers 415 to a PATCH sent as application/fhir+json (only application/json-patch+json is a patch)', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    expect(created.status).toBe(201);
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${created.body.id}`),
      [{ op: 'replace', path: '/name', value: 'Patched' }],
      {
        'content-type': 'application/fhir+json',
      },
    );
    expectOutcome(res, 415);
    const read = await call('GET', dir.url(`/Organization/${created.body.id}`));
    expect([read.body.meta.versionId, read.body.name]).toEqual(['1', 'Valley Clinic']);
  });

  it('accepts the same PATCH as application/json-patch+json', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${created.body.id}`),
      [{ op: 'replace', path: '/name', value: 'Patched' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Patched');
  });
});

describe('body size limit', () => {
  const LIMIT = 64 * 1024;
  let small: TestDirectory;
  beforeAll(async () => {
    small = await startTestDirectory({ maxBodyBytes: LIMIT });
  });
  afterAll(() => small.close());

  it('answers 413 to a declared Content-Length over the limit without waiting for the body', async () => {
    const req = httpRequest(small.url('/Organization'), {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        'content-length': String(50 * 1024 * 1024),
        accept: 'application/fhir+json',
      },
    });
    req.on('error', () => undefined); // the server may close the connection on the unfinished upload
    const response = new Promise<import('node:http').IncomingMessage>((resolve) =>
      req.once('response', resolve),
    );
    req.write(`{"resourceType":"Organization","name":"${'x'.repeat(4 * 1024)}`);
    try {
      // The upload is never finished: only an answer that does not wait for the body arrives in time.
      const res = await collect(await withTimeout(response, 5000, 'declared oversize body'));
      expect(req.writableEnded).toBe(false);
      expectRawOutcome(res, 413);
      expect(res.body?.issue?.[0]?.code).toBe('too-long');
      expect(res.headers['x-request-id']).toBeTruthy();
    } finally {
      req.destroy();
    }
  });

  it('answers 413 to a chunked body that streams past the limit', async () => {
    const req = httpRequest(small.url('/Organization'), {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, // no Content-Length: chunked
    });
    req.on('error', () => undefined);
    let answered = false;
    const response = new Promise<import('node:http').IncomingMessage>((resolve) =>
      req.once('response', (res) => {
        answered = true;
        resolve(res);
      }),
    );
    try {
      const chunk = 'x'.repeat(8 * 1024);
      req.write(`{"resourceType":"Organization","name":"`);
      let sent = 0;
      // Up to 16x the limit, stopping as soon as the server has answered.
      while (!answered && !req.destroyed && sent < 16 * LIMIT) {
        await new Promise<void>((resolve) => req.write(chunk, () => resolve()));
        sent += chunk.length;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      if (!answered && !req.destroyed) req.end('"}');
      const res = await collect(await withTimeout(response, 5000, 'chunked oversize body'));
      expectRawOutcome(res, 413);
      expect(res.body?.issue?.[0]?.code).toBe('too-long');
    } finally {
      req.destroy();
    }
  });

  it('still accepts a body under the limit, and keeps serving after the 413s', async () => {
    const res = await call('POST', small.url('/Organization'), organization({ name: 'y'.repeat(10 * 1024) }));
    expect(res.status).toBe(201);
  });
});

describe('malformed bodies', () => {
  it.each([
    ['truncated', '{"resourceType":"Organization","name":'],
    ['trailing comma', '{"resourceType":"Organization","name":"x",}'],
    ['single quotes', "{'resourceType':'Organization'}"],
    ['not JSON at all', 'hello'],
  ])('answers 400 to malformed JSON (%s)', async (_label, text) => {
    const res = await call('POST', dir.url('/Organization'), text);
    expectOutcome(res, 400);
    expect(res.body.issue[0].code).toBe('invalid');
  });

  it('answers 400 to an empty body on POST', async () => {
    expectOutcome(await call('POST', dir.url('/Organization'), ''), 400);
  });

  it('answers 400 to an empty body on PUT, and creates nothing', async () => {
    expectOutcome(await call('PUT', dir.url('/Organization/empty-put'), ''), 400);
    expectOutcome(await call('GET', dir.url('/Organization/empty-put')), 404);
  });

  it('answers 400 to an empty chunked body', async () => {
    const res = await rawRequest(dir.url('/Organization'), 'POST', {
      'content-type': 'application/fhir+json',
      'transfer-encoding': 'chunked',
      accept: 'application/fhir+json',
    });
    expectRawOutcome(res, 400);
  });

  it.each([
    ['an array', '[{"resourceType":"Organization","name":"x"}]'],
    ['a string', '"Organization"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ])('answers 400 to %s as the body of a POST and of a PUT', async (_label, text) => {
    expectOutcome(await call('POST', dir.url('/Organization'), text), 400);
    expectOutcome(await call('PUT', dir.url('/Organization/not-an-object'), text), 400);
  });

  it('answers 400 to a resource without resourceType', async () => {
    const res = await call('POST', dir.url('/Organization'), { name: 'x' });
    expectOutcome(res, 400);
  });
});

describe('hostile bodies', () => {
  it('refuses a __proto__ key with 400 and pollutes nothing', async () => {
    const res = await call(
      'POST',
      dir.url('/Organization'),
      '{"resourceType":"Organization","__proto__":{"polluted":true},"name":"x"}',
    );
    expectOutcome(res, 400);
    expect(res.body.issue[0].diagnostics).toMatch(/__proto__/);
    expect(polluted()).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('refuses a nested __proto__ key with 400', async () => {
    const res = await call(
      'POST',
      dir.url('/Organization'),
      '{"resourceType":"Organization","name":"x","identifier":[{"__proto__":{"polluted":true}}]}',
    );
    expectOutcome(res, 400);
    expect(polluted()).toBeUndefined();
  });

  it.each([
    [
      'constructor',
      '{"resourceType":"Organization","name":"x","constructor":{"prototype":{"polluted":true}}}',
    ],
    ['prototype', '{"resourceType":"Organization","name":"x","prototype":{"polluted":true}}'],
    [
      'nested constructor',
      '{"resourceType":"Organization","name":"x","address":[{"city":"x","constructor":{}}]}',
    ],
  ])('refuses a %s key with 400', async (_label, text) => {
    const res = await call('POST', dir.url('/Organization'), text);
    expectOutcome(res, 400);
    expect(polluted()).toBeUndefined();
  });

  it('refuses objects nested 10,000 levels deep with 400', async () => {
    const depth = 10_000;
    const text = `{"resourceType":"Organization","name":"x","x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const res = await call('POST', dir.url('/Organization'), text);
    expectOutcome(res, 400);
  });

  it('refuses arrays nested 10,000 levels deep with 400', async () => {
    const depth = 10_000;
    const text = `{"resourceType":"Organization","name":"x","alias":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await call('POST', dir.url('/Organization'), text);
    expectOutcome(res, 400);
  });

  // README: MAX_RESOURCE_BYTES (256 KB by default) is the largest single resource in a write; larger is
  // 413 naming the limit. The body itself (5 MB) is under MAX_BODY_BYTES (16 MB), so this is that limit.
  it('answers 413 too-long naming MAX_RESOURCE_BYTES to a resource with a 5 MB string, and stores nothing', async () => {
    const newest = async (): Promise<unknown> =>
      (await call('GET', dir.url('/_history?_count=1'))).body.entry?.[0]?.fullUrl;
    const before = await newest();
    const name = 'n'.repeat(5 * 1024 * 1024);
    const res = await call('POST', dir.url('/Organization'), organization({ name }));
    expectOutcome(res, 413);
    expect(res.body.issue).toHaveLength(1);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'too-long' });
    expect(res.body.issue[0].diagnostics).toContain('the limit is 262144 (MAX_RESOURCE_BYTES)');
    expect(await newest()).toBe(before);
  }, 120_000);

  describe('wrong JSON types', () => {
    it.each([
      ['active: "yes"', { active: 'yes' }, 'Organization.active'],
      ['name: 42', { name: 42 }, 'Organization.name'],
      ['identifier: {} instead of an array', { identifier: {} }, 'Organization.identifier'],
      ['address: [null]', { address: [null] }, 'Organization.address[0]'],
    ])('answers 400 to %s with the expression of the element', async (_label, overrides, expression) => {
      const res = await call('POST', dir.url('/Organization'), { ...organization(), ...overrides });
      expectOutcome(res, 400);
      expect(ISSUE_EXPRESSIONS(res)).toContain(expression);
    });

    it('reports every wrongly typed element of one body in one OperationOutcome', async () => {
      const res = await call('POST', dir.url('/Organization'), {
        ...organization(),
        active: 'yes',
        name: 42,
        identifier: {},
        address: [null],
      });
      expectOutcome(res, 400);
      expect(ISSUE_EXPRESSIONS(res)).toEqual(
        expect.arrayContaining([
          'Organization.active',
          'Organization.name',
          'Organization.identifier',
          'Organization.address[0]',
        ]),
      );
    });
  });
});

describe('routing', () => {
  it('answers 404 with an OperationOutcome for an unknown path outside /fhir', async () => {
    const res = await call('GET', `${origin()}/nope`);
    expectOutcome(res, 404);
  });

  it.each(['/nope', '/Organization/x/y/z', '/Organization/x/_history/1/extra'])(
    'answers 404 with an OperationOutcome for /fhir%s',
    async (path) => {
      const res = await call('GET', dir.url(path));
      expectOutcome(res, 404);
    },
  );

  it('answers 405 with Allow: GET, POST, PUT, DELETE to PATCH /fhir/Organization', async () => {
    const res = await call('PATCH', dir.url('/Organization'), [], {
      'content-type': 'application/json-patch+json',
    });
    expectOutcome(res, 405);
    expect(res.body.issue[0].code).toBe('not-supported');
    const allow = (res.headers.get('allow') ?? '')
      .split(',')
      .map((m) => m.trim())
      .sort();
    expect(allow).toEqual(['DELETE', 'GET', 'POST', 'PUT']);
  });

  it('answers 405 to POST /fhir/metadata', async () => {
    const res = await call('POST', dir.url('/metadata'));
    expectOutcome(res, 405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('answers 405 to PUT /fhir/_history', async () => {
    const res = await call('PUT', dir.url('/_history'), { resourceType: 'Organization' });
    expectOutcome(res, 405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('content negotiation', () => {
  it.each(['json', 'application/fhir+json', 'application/json'])('accepts _format=%s', async (format) => {
    const res = await call('GET', dir.url(`/metadata?_format=${encodeURIComponent(format)}`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('CapabilityStatement');
  });

  it('accepts _format=json on a read', async () => {
    const created = await call('POST', dir.url('/Endpoint'), endpoint());
    const res = await call('GET', dir.url(`/Endpoint/${created.body.id}?_format=json`));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(created.body.id);
  });

  it.each(['xml', 'application/fhir+xml', 'text/html'])('answers 406 to _format=%s', async (format) => {
    const res = await call('GET', dir.url(`/metadata?_format=${encodeURIComponent(format)}`));
    expectOutcome(res, 406);
  });

  it('answers 406 to Accept: application/fhir+xml alone', async () => {
    const res = await call('GET', dir.url('/metadata'), undefined, { accept: 'application/fhir+xml' });
    expectOutcome(res, 406);
    expectOutcome(
      await call('GET', dir.url('/Organization'), undefined, { accept: 'application/fhir+xml' }),
      406,
    );
  });

  it('accepts Accept: */* and Accept: application/json', async () => {
    for (const accept of [
      '*/*',
      'application/json',
      'application/fhir+xml;q=0.9, application/fhir+json;q=0.5',
    ]) {
      const res = await call('GET', dir.url('/metadata'), undefined, { accept });
      expect([accept, res.status]).toEqual([accept, 200]);
      expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    }
  });

  it('indents the JSON with _pretty=true, and not without it', async () => {
    const pretty = await call('GET', dir.url('/metadata?_pretty=true'));
    expect(pretty.status).toBe(200);
    expect(pretty.text).toMatch(/^\{\n {2}"resourceType": "CapabilityStatement",\n/);
    const compact = await call('GET', dir.url('/metadata'));
    expect(compact.text).not.toContain('\n');
    expect(pretty.body).toEqual(compact.body);
  });
});

describe('request ids', () => {
  it('puts an x-request-id on every response, success or failure', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    const responses = [
      created,
      await call('GET', dir.url(`/Organization/${created.body.id}`)),
      await call('GET', dir.url('/metadata')),
      await call('GET', dir.url('/Organization/no-such-org')),
      await call('GET', `${origin()}/nope`),
      await call('DELETE', dir.url('/Organization')),
      await call('POST', dir.url('/Organization'), 'not json'),
      await call('POST', dir.url('/Organization'), 'x', { 'content-type': 'text/plain' }),
      await call('GET', dir.url('/metadata?_format=xml')),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a sane client-supplied X-Request-Id', async () => {
    const res = await call('GET', dir.url('/metadata'), undefined, { 'x-request-id': 'client-req.42:abc' });
    expect(res.headers.get('x-request-id')).toBe('client-req.42:abc');
    const failed = await call('GET', dir.url('/Organization/no-such-org'), undefined, {
      'x-request-id': 'client-req-404',
    });
    expect(failed.headers.get('x-request-id')).toBe('client-req-404');
  });

  it('replaces an X-Request-Id that is not sane', async () => {
    for (const bad of ['has spaces in it', 'x'.repeat(200), '<script>']) {
      const res = await call('GET', dir.url('/metadata'), undefined, { 'x-request-id': bad });
      const id = res.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(id).not.toBe(bad);
    }
  });
});

describe('GET /fhir/metadata', () => {
  const TYPES = [
    'Organization',
    'Endpoint',
    'Location',
    'HealthcareService',
    'OrganizationAffiliation',
    'Practitioner',
    'PractitionerRole',
    'CapabilityStatement',
  ];
  const TYPE_INTERACTIONS = [
    'read',
    'vread',
    'update',
    'patch',
    'delete',
    'history-instance',
    'history-type',
    'create',
    'search-type',
  ];

  it('answers a FHIR 4.0.1 CapabilityStatement listing every directory type and interaction', async () => {
    const res = await call('GET', dir.url('/metadata'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    expect(res.body.fhirVersion).toBe('4.0.1');
    expect(res.body.kind).toBe('instance');
    expect(res.body.rest).toHaveLength(1);
    const rest = res.body.rest[0];
    expect(rest.mode).toBe('server');
    const resources = rest.resource as Array<{ type: string; interaction: Array<{ code: string }> }>;
    expect(resources.map((r) => r.type).sort()).toEqual([...TYPES].sort());
    for (const r of resources) {
      expect([r.type, r.interaction.map((i) => i.code).sort()]).toEqual([
        r.type,
        [...TYPE_INTERACTIONS].sort(),
      ]);
    }
    const system = (rest.interaction as Array<{ code: string }>).map((i) => i.code).sort();
    expect(system).toEqual(['batch', 'history-system', 'search-system', 'transaction']);
  });
});

describe('unexpected errors (errorHandler)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const logger = createLogger('silent');
    const app = express();
    app.use(requestContext(logger));
    app.get('/sync', () => {
      throw new Error('secret detail');
    });
    app.get('/async', async () => {
      await Promise.resolve();
      throw new Error('secret detail');
    });
    app.use(errorHandler(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['/sync', '/async'])(
    'answers 500 exception with the request id and no internals (%s)',
    async (path) => {
      const res = await call('GET', `${base}${path}`);
      expectOutcome(res, 500);
      expect(res.body.issue[0].code).toBe('exception');
      const id = res.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(res.body.issue[0].diagnostics).toContain(id);
      expect(res.text).not.toContain('secret detail');
      expect(res.text).not.toMatch(/\bat \S+ \(|\bat \/|\.(ts|js):\d+/); // no stack frames
      expect(res.text).not.toContain('at ');
    },
  );

  it('quotes a client-supplied request id in the 500', async () => {
    const res = await call('GET', `${base}/sync`, undefined, { 'x-request-id': 'trace-500-abc' });
    expectOutcome(res, 500);
    expect(res.headers.get('x-request-id')).toBe('trace-500-abc');
    expect(res.body.issue[0].diagnostics).toContain('trace-500-abc');
  });
});
