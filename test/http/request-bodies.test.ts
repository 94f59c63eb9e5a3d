/**
 * What the server does with a request body it should not take: over MAX_BODY_BYTES (413 before it is
 * read) or a resource over MAX_RESOURCE_BYTES (413), malformed JSON or not a resource (400), hostile
 * JSON (prototype keys, deep nesting, wrong types: 400 with the element's expression). Never a 5xx,
 * never stored.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { collect, expectRawOutcome, rawRequest, withTimeout } from '../helpers/raw-http';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

/** What a prototype pollution would have left on every object. */
const polluted = (): unknown => (({}) as Record<string, unknown>)['polluted'];

const ISSUE_EXPRESSIONS = (res: FhirResponse): string[] =>
  (res.body.issue as Array<{ expression?: string[] }>).flatMap((i) => i.expression ?? []);

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
        authorization: `Bearer ${await small.adminToken()}`,
        'content-type': 'application/fhir+json',
        'content-length': String(50 * 1024 * 1024),
        accept: 'application/fhir+json',
      },
    });
    req.on('error', () => undefined); // the server may close the connection on the unfinished upload
    const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
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
      headers: {
        authorization: `Bearer ${await small.adminToken()}`,
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
      }, // no Content-Length: chunked
    });
    req.on('error', () => undefined);
    let answered = false;
    const response = new Promise<IncomingMessage>((resolve) =>
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

describe('resource size limit', () => {
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
