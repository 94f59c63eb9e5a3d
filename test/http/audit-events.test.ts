/**
 * Security events become AuditEvents (src/fhir/audit-event-sink.ts), written in the background in
 * batches, and only admin clients read them: every way of naming AuditEvent is 403 for anyone else,
 * system search and system history never hold one, and no AuditEvent answer is kept by the response
 * cache, so none is served to another caller. No token is ever stored.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { AuditEventSink } from '../../src/fhir/audit-event-sink';
import type { SecurityEvent } from '../../src/security/security-events';
import { bearer, registerClient, tokenFor, type TestClient } from '../helpers/auth';
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { endpoint } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';

let dir: TestDirectory;
let operator: TestClient;
let acme: TestClient;
let operatorToken: string;
let acmeToken: string;
let admin: Record<string, string>;
let implementer: Record<string, string>;
// No Authorization header at all (the test helper sends the directory's admin token unless told otherwise).
const anonymous: Record<string, string> = { authorization: '' };

const at = (): string => new Date().toISOString();

beforeAll(async () => {
  dir = await startTestDirectory();
  operator = await registerClient(dir, { name: 'Operator console', admin: true });
  acme = await registerClient(dir, { name: 'Acme gateway', organization: 'Organization/acme' });
  operatorToken = await tokenFor(dir, operator);
  acmeToken = await tokenFor(dir, acme);
  admin = bearer(operatorToken);
  implementer = bearer(acmeToken);
  const created = await call('PUT', dir.url('/Endpoint/audited'), endpoint({ id: 'audited' }), admin);
  expect(created.status).toBe(201);

  const events = dir.ctx.access?.events;
  if (!events) throw new Error('no security event sink');
  events.record({
    kind: 'token-issued',
    at: at(),
    clientId: acme.client.clientId,
    outcome: '',
    reason: '',
    method: 'POST',
    path: '/auth/token',
    address: '192.0.2.10',
  });
  events.record({
    kind: 'token-refused',
    at: at(),
    clientId: 'no-such-client',
    outcome: 'invalid_client',
    reason: 'the client is not registered',
    method: 'POST',
    path: '/auth/token',
    address: '192.0.2.11',
  });
  events.record({
    kind: 'access-refused',
    at: at(),
    clientId: acme.client.clientId,
    outcome: 'forbidden',
    reason: 'Endpoint/audited is managed by Organization/valley-clinic, not by Organization/acme',
    method: 'PUT',
    // RFC 6750 lets a token ride in the query: it must not be stored.
    path: `/fhir/Endpoint/audited?access_token=${acmeToken}`,
    address: '192.0.2.12',
    target: 'Endpoint/audited',
  });
  await waitForAuditEvents(3);
});
afterAll(() => dir.close());

/** Polls (as an admin) until `n` AuditEvents are stored; the sink writes within about a second. */
async function waitForAuditEvents(n: number): Promise<AuditEvent[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await call('GET', dir.url('/AuditEvent?_count=100'), undefined, admin);
    expect(res.status).toBe(200);
    const found = (res.body.entry ?? []).map((e: { resource: AuditEvent }) => e.resource) as AuditEvent[];
    if (found.length >= n) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${n} AuditEvents were stored`);
}

const entriesOf = (res: FhirResponse): { resource?: { resourceType: string } }[] => res.body.entry ?? [];

describe('security events as AuditEvents', () => {
  it('stores each event as a valid AuditEvent with type, subtype, action, outcome, agent and source', async () => {
    const events = await waitForAuditEvents(3);
    const issued = events.find((e) => e.outcome === '0');
    expect(issued).toMatchObject({
      type: { system: DICOM, code: '110114' },
      subtype: [{ system: DICOM, code: '110122' }],
      action: 'E',
      agent: [
        {
          who: {
            type: 'Device',
            identifier: { system: 'urn:fhir-directory:client', value: acme.client.clientId },
          },
          requestor: true,
          network: { address: '192.0.2.10', type: '2' },
        },
      ],
      source: { observer: { identifier: { system: 'urn:fhir-directory:system', value: 'fhir-directory' } } },
    });
    const refusedToken = events.find((e) => e.outcome === '4');
    expect(refusedToken?.outcomeDesc).toBe('invalid_client: the client is not registered');
    const refusedWrite = events.find((e) => e.outcome === '8');
    expect(refusedWrite).toMatchObject({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'update' }],
      action: 'U',
      entity: [{ what: { reference: 'Endpoint/audited' }, description: 'PUT /fhir/Endpoint/audited' }],
    });
    expect(refusedWrite?.outcomeDesc).toMatch(/^forbidden: Endpoint\/audited is managed by/);
    for (const event of events) expect(() => dir.ctx.validator.assertValid(event)).not.toThrow();
  });

  it('records no Provenance of an AuditEvent', async () => {
    const res = await call(
      'GET',
      dir.url('/Provenance?target:AuditEvent._lastUpdated=ge2000-01-01&_summary=count'),
      undefined,
      admin,
    );
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
  });

  it('lets an admin search them by type, subtype, outcome, entity, address and date', async () => {
    const total = async (query: string): Promise<number> => {
      const res = await call('GET', dir.url(`/AuditEvent?${query}&_summary=count`), undefined, admin);
      expect(res.status).toBe(200);
      return res.body.total as number;
    };
    expect(await total(`type=${DICOM}|110114`)).toBe(2);
    expect(await total('subtype=update')).toBe(1);
    expect(await total('outcome=4')).toBe(1);
    expect(await total('entity=Endpoint/audited')).toBe(1);
    expect(await total('address=192.0.2.12')).toBe(1);
    expect(await total('date=ge2000-01-01')).toBe(3);
    expect(await total('action=E')).toBe(2);
  });

  it('never stores a token, an assertion or a key', async () => {
    const res = await call('GET', dir.url('/AuditEvent?_count=100'), undefined, admin);
    for (const secret of [operatorToken, acmeToken, JSON.stringify(acme.publicJwk.x)])
      expect(res.text).not.toContain(secret);
    expect(res.text).not.toContain('access_token');
  });
});

describe('who reads AuditEvents', () => {
  let id: string;
  beforeAll(async () => {
    id = (await waitForAuditEvents(3))[0]?.id as string;
  });

  it('an admin reads, vreads and reads the history of one, uncached', async () => {
    for (const path of [
      `/AuditEvent/${id}`,
      `/AuditEvent/${id}/_history/1`,
      `/AuditEvent/${id}/_history`,
      '/AuditEvent/_history',
    ]) {
      for (let i = 0; i < 2; i++) {
        const res = await call('GET', dir.url(path), undefined, admin);
        expect(`${path} ${res.status}`).toBe(`${path} 200`);
        expect(res.headers.get('x-cache')).toBeNull();
      }
    }
  });

  it.each([
    ['type search', () => '/AuditEvent'],
    ['read', () => `/AuditEvent/${id}`],
    ['vread', () => `/AuditEvent/${id}/_history/1`],
    ['instance history', () => `/AuditEvent/${id}/_history`],
    ['type history', () => '/AuditEvent/_history'],
    ['system search of the type', () => '?_type=AuditEvent'],
    ['a revinclude', () => '/Endpoint?_id=audited&_revinclude=AuditEvent:entity'],
    ['an include from it', () => '/Provenance?_include:iterate=AuditEvent:entity'],
    ['a _has', () => '/Endpoint?_has:AuditEvent:entity:outcome=8'],
    ['a chain', () => '/Provenance?target:AuditEvent.outcome=8'],
  ])(
    'a non-admin client and an anonymous caller get 403 for a %s, even after an admin asked',
    async (_what, path) => {
      const url = dir.url(path());
      const asAdmin = await call('GET', url, undefined, admin);
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.headers.get('x-cache')).toBeNull();
      for (const headers of [implementer, anonymous]) {
        const res = await call('GET', url, undefined, headers);
        expectOutcome(res, 403);
        expect(res.body.issue[0].code).toBe('forbidden');
        expect(res.body.issue[0].diagnostics).toMatch(
          /AuditEvent resources are readable only by admin clients/,
        );
      }
    },
  );

  it('an admin gets the AuditEvent a revinclude names; a search that does not name it never shows one', async () => {
    const named = await call(
      'GET',
      dir.url('/Endpoint?_id=audited&_revinclude=AuditEvent:entity'),
      undefined,
      admin,
    );
    expect(entriesOf(named).map((e) => e.resource?.resourceType)).toEqual(['Endpoint', 'AuditEvent']);
  });

  it('system search and system history hold none, for anyone', async () => {
    for (const headers of [admin, implementer, anonymous]) {
      const search = await call('GET', dir.url('/?_count=1000'), undefined, headers);
      expect(search.status).toBe(200);
      expect(entriesOf(search).length).toBeGreaterThan(0);
      expect(entriesOf(search).some((e) => e.resource?.resourceType === 'AuditEvent')).toBe(false);
      const history = await call('GET', dir.url('/_history?_count=1000'), undefined, headers);
      expect(history.status).toBe(200);
      expect(entriesOf(history).length).toBeGreaterThan(0);
      expect(entriesOf(history).some((e) => e.resource?.resourceType === 'AuditEvent')).toBe(false);
    }
  });

  it('conditional write criteria through AuditEvent are refused, for admins too', async () => {
    const criteria = '_has:AuditEvent:entity:outcome=8';
    expectOutcome(await call('DELETE', dir.url(`/Endpoint?${criteria}`), undefined, admin), 403);
    expectOutcome(
      await call('POST', dir.url('/Endpoint'), endpoint({ id: 'probe' }), {
        ...implementer,
        'if-none-exist': criteria,
      }),
      403,
    );
    expect((await call('GET', dir.url('/Endpoint/audited'))).status).toBe(200);
  });

  it('a batch GET of an AuditEvent is 403 in its entry for a non-admin, 200 for an admin', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `AuditEvent/${id}` } },
        { request: { method: 'GET', url: `AuditEvent/${id}/_history/1` } },
      ],
    };
    const asImplementer = await call('POST', dir.url(''), bundle, implementer);
    expect(asImplementer.body.entry.map((e: any) => e.response.status)).toEqual(['403', '403']);
    const asAdmin = await call('POST', dir.url(''), bundle, admin);
    expect(asAdmin.body.entry.map((e: any) => e.response.status)).toEqual(['200', '200']);
    const transaction = { ...bundle, type: 'transaction' };
    expectOutcome(await call('POST', dir.url(''), transaction, implementer), 403);
  });
});

describe('the sink', () => {
  it('writes in batches, drops and counts what overflows its buffer, warns, and writes the rest on close', async () => {
    const warnings: object[] = [];
    const sink = new AuditEventSink(dir.store, dir.baseUrl, {
      batchSize: 2,
      flushMs: 60_000,
      maxBuffered: 3,
      log: { warn: (details) => warnings.push(details) },
    });
    const event = (n: number): SecurityEvent => ({
      kind: 'token-refused',
      at: at(),
      clientId: `flood-${n}`,
      outcome: 'invalid_client',
      reason: 'flood',
    });
    const count = async (): Promise<number> =>
      (await call('GET', dir.url('/AuditEvent?outcome=4&_summary=count'), undefined, admin)).body
        .total as number;
    const start = await count();
    for (let n = 0; n < 6; n++) sink.record(event(n));
    await sink.close();
    sink.record(event(99));
    expect(sink.written + sink.dropped).toBe(7);
    expect(sink.dropped).toBeGreaterThanOrEqual(2);
    expect(await count()).toBe(start + sink.written);
    expect(warnings).toContainEqual(expect.objectContaining({ dropped: expect.any(Number) }));
  });
});
