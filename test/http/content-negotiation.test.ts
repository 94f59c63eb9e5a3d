/**
 * Content negotiation (FHIR R4 http.html#mime-type): a body must say it is FHIR JSON (415 otherwise,
 * and a PATCH must be a JSON Patch); the answer is JSON whatever `_format` or `Accept` allows (406
 * when they allow only something else), indented on `_pretty=true`.
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import { expectRawOutcome, rawRequest } from '../helpers/raw-http';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

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
