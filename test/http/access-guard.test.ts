/**
 * Who may write (SECURITY.md §5.3, rows A1–A6, A9–A11): a write needs a bearer token whose scopes
 * allow the interaction on the type, whatever the read policy; every refusal is a 401, 400 or 403
 * OperationOutcome with the RFC 6750 challenge, names the rule, is reported as a security event, and
 * stores nothing (read back). Clients here are admin clients with narrowed scopes, so what is
 * decided is the scope alone, never ownership.
 */
import { signAccessToken } from '../../src/security/access-token';
import { tokenEndpointOf } from '../../src/security/access-control';
import type { SecurityEvent } from '../../src/security/security-events';
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { rawRequest } from '../helpers/raw-http';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
const events: SecurityEvent[] = [];
beforeAll(async () => {
  dir = await startTestDirectory();
  (dir.ctx.access as NonNullable<typeof dir.ctx.access>).events = { record: (e) => events.push(e) };
});
afterAll(() => dir.close());

/** A token of an admin client allowed exactly `scopes` (so ownership never decides). */
async function tokenWith(...scopes: string[]): Promise<string> {
  const client = await registerClient(dir, { admin: true, scopes });
  return tokenFor(dir, client);
}

const NO_TOKEN = { authorization: '' };

function expectRefusal(res: FhirResponse, status: number, code: string, challenge: RegExp): void {
  expectOutcome(res, status);
  expect(issuesOf(res)[0]?.code).toBe(code);
  expect(res.headers.get('www-authenticate')).toMatch(challenge);
}

async function expectAbsent(path: string): Promise<void> {
  const res = await call('GET', dir.url(path));
  expect(res.status).toBe(404);
}

describe('A1: a write without a token', () => {
  it.each([
    ['POST', '/Endpoint', endpoint()],
    ['PUT', '/Endpoint/a1-put', endpoint({ id: 'a1-put' })],
    ['PUT', '/Endpoint?identifier=urn:x|a1', endpoint()],
    ['PATCH', '/Endpoint/a1-patch', [{ op: 'add', path: '/name', value: 'x' }]],
    ['DELETE', '/Endpoint/a1-delete', undefined],
    ['DELETE', '/Endpoint?identifier=urn:x|a1', undefined],
    ['POST', '', { resourceType: 'Bundle', type: 'batch', entry: [] }],
  ])('%s %s is 401 login with a bare Bearer challenge', async (method, path, body) => {
    const headers: Record<string, string> =
      method === 'PATCH' ? { ...NO_TOKEN, 'content-type': 'application/json-patch+json' } : NO_TOKEN;
    const res = await call(method, dir.url(path), body, headers);
    expectRefusal(res, 401, 'login', /^Bearer realm="fhir-directory"$/);
    expect(issuesOf(res)[0]?.diagnostics).toContain(tokenEndpointOf(dir.baseUrl));
  });

  it('stores nothing, and reports the refusal without the token', async () => {
    events.length = 0;
    await call('PUT', dir.url('/Organization/a1-org'), organization({ id: 'a1-org' }), NO_TOKEN);
    await expectAbsent('/Organization/a1-org');
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'access-refused',
        outcome: 'login',
        method: 'PUT',
        path: '/fhir/Organization/a1-org',
        target: 'Organization/a1-org',
      }),
    ]);
  });
});

describe('A2: a malformed Authorization header', () => {
  it.each([['Bearer'], ['Bearer '], ['Basic dXNlcjpwYXNz'], ['Bearer one two'], ['Token abc']])(
    '"%s" is 400 invalid_request with an OperationOutcome, and stores nothing',
    async (authorization) => {
      const res = await rawRequest(
        dir.url('/Organization/a2-org'),
        'PUT',
        { authorization, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        JSON.stringify(organization({ id: 'a2-org' })),
      );
      expect(res.status).toBe(400);
      expect(res.body?.resourceType).toBe('OperationOutcome');
      expect(res.body?.issue?.[0]?.code).toBe('invalid');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="fhir-directory", error="invalid_request"');
      await expectAbsent('/Organization/a2-org');
    },
  );
});

describe('A3, A4: a token that is not good', () => {
  const secret = async (): Promise<Uint8Array> =>
    Buffer.from(await dir.store.auth.tokenSecret(), 'base64url');

  async function signed(
    options: { audience?: string; secret?: Uint8Array; clientId?: string; ttl?: number; at?: number } = {},
  ): Promise<string> {
    const { token } = await signAccessToken(
      {
        issuer: tokenEndpointOf(dir.baseUrl),
        audience: options.audience ?? dir.baseUrl,
        secret: options.secret ?? (await secret()),
      },
      options.clientId ?? dir.admin.client.clientId,
      'system/*.cruds',
      options.ttl ?? 300,
      options.at,
    );
    return token;
  }

  it.each([
    ['garbage', () => Promise.resolve('not-a-token')],
    ['forged (another secret)', async () => signed({ secret: Buffer.alloc(32, 7) })],
    ['issued for another audience', async () => signed({ audience: 'https://other.example.org/fhir' })],
    ['issued to an unknown client', async () => signed({ clientId: 'nobody' })],
  ])('%s: 401 invalid_token, OperationOutcome login, nothing stored', async (_what, make) => {
    const res = await call(
      'POST',
      dir.url('/Endpoint'),
      endpoint({ name: 'A3 endpoint' }),
      bearer(await make()),
    );
    expectRefusal(res, 401, 'login', /^Bearer realm="fhir-directory", error="invalid_token"$/);
    const found = await call('GET', dir.url('/Endpoint?name=A3 endpoint&_summary=count'));
    expect(found.body.total).toBe(0);
  });

  it('a token of a client the operator disabled: 401 invalid_token', async () => {
    const client = await registerClient(dir, { admin: true, scopes: ['system/*.cruds'] });
    const token = await tokenFor(dir, client);
    expect(
      (
        await call(
          'PUT',
          dir.url('/Organization/a3-before'),
          organization({ id: 'a3-before' }),
          bearer(token),
        )
      ).status,
    ).toBe(201);
    await dir.store.auth.updateClient(client.client.clientId, { disabled: true });
    await dir.ctx.access?.authenticator.refresh();
    const res = await call(
      'PUT',
      dir.url('/Organization/a3-revoked'),
      organization({ id: 'a3-revoked' }),
      bearer(token),
    );
    expectRefusal(res, 401, 'login', /error="invalid_token"/);
    await expectAbsent('/Organization/a3-revoked');
  });

  it('A4: an expired token: 401 invalid_token, OperationOutcome expired', async () => {
    const token = await signed({ ttl: 60, at: Math.floor(Date.now() / 1000) - 3600 });
    const res = await call(
      'PUT',
      dir.url('/Organization/a4-org'),
      organization({ id: 'a4-org' }),
      bearer(token),
    );
    expectRefusal(res, 401, 'expired', /^Bearer realm="fhir-directory", error="invalid_token"$/);
    await expectAbsent('/Organization/a4-org');
  });
});

describe('A5, A6: a token without the scope for the interaction', () => {
  it('A5: system/Organization.cu does PUT Endpoint: 403 insufficient_scope naming the rule', async () => {
    const token = await tokenWith('system/Organization.cu');
    const res = await call('PUT', dir.url('/Endpoint/a5-ep'), endpoint({ id: 'a5-ep' }), bearer(token));
    expectRefusal(
      res,
      403,
      'forbidden',
      /^Bearer realm="fhir-directory", error="insufficient_scope", scope="system\/Endpoint.u"$/,
    );
    expect(issuesOf(res)[0]?.diagnostics).toBe(
      'update on Endpoint needs scope system/Endpoint.u (granted: system/Organization.cu)',
    );
    await expectAbsent('/Endpoint/a5-ep');
  });

  it('A5: read-only scopes (.rs, v1 .read) do POST: 403, nothing created', async () => {
    for (const scope of ['system/Endpoint.rs', 'system/Endpoint.read']) {
      const token = await tokenWith(scope);
      const res = await call('POST', dir.url('/Endpoint'), endpoint({ name: `A5 ${scope}` }), bearer(token));
      expectRefusal(res, 403, 'forbidden', /scope="system\/Endpoint.c"/);
      const found = await call(
        'GET',
        dir.url(`/Endpoint?name=${encodeURIComponent(`A5 ${scope}`)}&_summary=count`),
      );
      expect(found.body.total).toBe(0);
    }
  });

  it('A6: .c only, PUT that would create (update-as-create) needs u: 403', async () => {
    const token = await tokenWith('system/Endpoint.c');
    const res = await call('PUT', dir.url('/Endpoint/a6-ep'), endpoint({ id: 'a6-ep' }), bearer(token));
    expectRefusal(res, 403, 'forbidden', /scope="system\/Endpoint.u"/);
    await expectAbsent('/Endpoint/a6-ep');
    // The same token creates with POST.
    expect((await call('POST', dir.url('/Endpoint'), endpoint(), bearer(token))).status).toBe(201);
  });

  it('each write interaction needs its own letter: c, u (update, patch, conditional update), d (delete, conditional delete)', async () => {
    await call('PUT', dir.url('/Organization/letters'), organization({ id: 'letters' }));
    const patch = { 'content-type': 'application/json-patch+json' };
    const cases: [string, string, unknown, Record<string, string>, string][] = [
      ['POST', '/Organization', organization(), {}, 'c'],
      ['PUT', '/Organization/letters', organization({ id: 'letters', name: 'L' }), {}, 'u'],
      ['PUT', '/Organization?_id=letters', organization({ name: 'L' }), {}, 'u'],
      ['PATCH', '/Organization/letters', [{ op: 'replace', path: '/name', value: 'L' }], patch, 'u'],
      ['DELETE', '/Organization/letters', undefined, {}, 'd'],
      ['DELETE', '/Organization?_id=letters', undefined, {}, 'd'],
      ['POST', '/Organization', organization(), { 'if-none-exist': '_id=letters' }, 'c'],
    ];
    const all = ['c', 'r', 'u', 'd', 's'];
    for (const [method, path, body, headers, letter] of cases) {
      const others = all.filter((l) => l !== letter).join('');
      const without = await tokenWith(`system/Organization.${others}`);
      const refused = await call(method, dir.url(path), body, { ...headers, ...bearer(without) });
      expect(`${method} ${path} → ${refused.status}`).toBe(`${method} ${path} → 403`);
      expect(refused.headers.get('www-authenticate')).toContain(`scope="system/Organization.${letter}"`);
    }
    const stored = await call('GET', dir.url('/Organization/letters'));
    expect(stored.status).toBe(200);
    expect(stored.body.meta.versionId).toBe('1');
    for (const [method, path, body, headers, letter] of cases) {
      const allowed = await call(method, dir.url(path), body, {
        ...headers,
        ...bearer(await tokenWith(`system/Organization.${letter}`)),
      });
      expect(`${method} ${path} → ${allowed.status}`).toMatch(/→ 20\d$/);
      if (method === 'DELETE')
        await call('PUT', dir.url('/Organization/letters'), organization({ id: 'letters' }));
    }
  });

  it('a v2 wildcard and the v1 .write form allow writes', async () => {
    for (const scope of ['system/*.cud', 'system/Endpoint.write']) {
      const res = await call('POST', dir.url('/Endpoint'), endpoint(), bearer(await tokenWith(scope)));
      expect(res.status).toBe(201);
    }
  });
});

describe('A9: a body that does not match its URL (with a good token)', () => {
  it('id in the body ≠ URL id: 400, nothing stored', async () => {
    const res = await call('PUT', dir.url('/Organization/a9-url'), organization({ id: 'a9-body' }));
    expectOutcome(res, 400);
    await expectAbsent('/Organization/a9-url');
    await expectAbsent('/Organization/a9-body');
  });

  it('resourceType ≠ the path: 400, nothing stored', async () => {
    const res = await call('PUT', dir.url('/Endpoint/a9-type'), organization({ id: 'a9-type' }));
    expectOutcome(res, 400);
    await expectAbsent('/Endpoint/a9-type');
    await expectAbsent('/Organization/a9-type');
  });
});

describe('A10 (scopes): Bundles check every entry', () => {
  const bundle = (type: 'transaction' | 'batch'): unknown => ({
    resourceType: 'Bundle',
    type,
    entry: [
      {
        resource: organization({ id: `a10-${type}-org` }),
        request: { method: 'PUT', url: `Organization/a10-${type}-org` },
      },
      {
        resource: endpoint({ id: `a10-${type}-ep` }),
        request: { method: 'PUT', url: `Endpoint/a10-${type}-ep` },
      },
    ],
  });

  it('a transaction with one entry out of scope is 403 naming the entry, and stores nothing', async () => {
    const token = await tokenWith('system/Organization.cruds');
    const res = await call('POST', dir.url(''), bundle('transaction'), bearer(token));
    expectRefusal(res, 403, 'forbidden', /scope="system\/Endpoint.u"/);
    expect(issuesOf(res)[0]?.diagnostics).toBe(
      'Bundle.entry[1]: update on Endpoint needs scope system/Endpoint.u (granted: system/Organization.cruds)',
    );
    await expectAbsent('/Organization/a10-transaction-org');
    await expectAbsent('/Endpoint/a10-transaction-ep');
  });

  it('a batch answers that entry 403 and goes on with the others; the refusal is reported', async () => {
    events.length = 0;
    const token = await tokenWith('system/Organization.cruds');
    const res = await call('POST', dir.url(''), bundle('batch'), bearer(token));
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201 Created',
      '403',
    ]);
    expect(res.body.entry[1].response.outcome.issue[0].code).toBe('forbidden');
    expect((await call('GET', dir.url('/Organization/a10-batch-org'))).status).toBe(200);
    await expectAbsent('/Endpoint/a10-batch-ep');
    expect(events).toEqual([expect.objectContaining({ kind: 'access-refused', outcome: 'forbidden' })]);
  });

  it('GET entries need no read scope while READ_ACCESS=public', async () => {
    const token = await tokenWith('system/Endpoint.c');
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Organization?_count=1' } }],
      },
      bearer(token),
    );
    expect(res.body.entry[0].response.status).toBe('200');
  });
});

describe('A11 and the directory-written types', () => {
  it("a type outside the token's scopes (PUT CapabilityStatement with Organization/Endpoint scopes): 403", async () => {
    const token = await tokenWith('system/Organization.cruds', 'system/Endpoint.cruds');
    const res = await call(
      'PUT',
      dir.url('/CapabilityStatement/a11'),
      minimalStatement({ id: 'a11' }),
      bearer(token),
    );
    expectRefusal(res, 403, 'forbidden', /scope="system\/CapabilityStatement.u"/);
    await expectAbsent('/CapabilityStatement/a11');
  });

  it('a type the directory does not serve (POST Patient): 404 not-supported', async () => {
    const res = await call('POST', dir.url('/Patient'), { resourceType: 'Patient' });
    expectOutcome(res, 404);
  });

  it.each(['Provenance', 'AuditEvent'])(
    '%s is written by the directory only: 403 even for an admin with system/*.cruds',
    async (type) => {
      for (const [method, path] of [
        ['POST', `/${type}`],
        ['PUT', `/${type}/x`],
        ['DELETE', `/${type}/x`],
      ] as const) {
        const res = await call(
          method,
          dir.url(path),
          method === 'DELETE' ? undefined : { resourceType: type, id: 'x' },
        );
        expectOutcome(res, 403);
        expect(issuesOf(res)[0]?.code).toBe('forbidden');
        expect(issuesOf(res)[0]?.diagnostics).toContain(`${type} is written by the directory only`);
        expect(res.headers.get('www-authenticate')).toBeNull();
      }
      const anonymous = await call('POST', dir.url(`/${type}`), { resourceType: type }, NO_TOKEN);
      expectRefusal(anonymous, 401, 'login', /^Bearer realm="fhir-directory"$/);
    },
  );
});

describe('write rate per client', () => {
  let limited: TestDirectory;
  beforeAll(async () => {
    limited = await startTestDirectory({ writeRatePerMinute: 2 });
  });
  afterAll(() => limited.close());

  it('past WRITE_RATE_PER_MINUTE a client gets 429 throttled with Retry-After; a Bundle counts once; others go on', async () => {
    const token = await tokenFor(
      limited,
      await registerClient(limited, { admin: true, scopes: ['system/*.cruds'] }),
    );
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [1, 2, 3].map((n) => ({
        resource: organization({ id: `rate-${n}` }),
        request: { method: 'PUT', url: `Organization/rate-${n}` },
      })),
    };
    expect((await call('POST', limited.url(''), batch, bearer(token))).status).toBe(200);
    expect(
      (await call('PUT', limited.url('/Organization/rate-4'), organization({ id: 'rate-4' }), bearer(token)))
        .status,
    ).toBe(201);
    const refused = await call(
      'PUT',
      limited.url('/Organization/rate-5'),
      organization({ id: 'rate-5' }),
      bearer(token),
    );
    expectOutcome(refused, 429);
    expect(issuesOf(refused)[0]?.code).toBe('throttled');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call('GET', limited.url('/Organization/rate-5'))).status).toBe(404);
    // Reads are not writes, and another client has its own budget.
    expect((await call('GET', limited.url('/Organization/rate-4'), undefined, bearer(token))).status).toBe(
      200,
    );
    expect(
      (await call('PUT', limited.url('/Organization/rate-6'), organization({ id: 'rate-6' }))).status,
    ).toBe(201);
  });
});
