/**
 * BUNDLE_MAX_ENTRIES and MAX_RESOURCE_BYTES (README.md, "Limits"): a Bundle with more entries, or a
 * resource larger than the limit (in a write, a Bundle entry, a PATCH result or $validate), is 413
 * `too-long` naming the limit and where the resource is, and nothing is stored.
 */
import type { Organization } from '@medplum/fhirtypes';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const MAX_ENTRIES = 3;
const MAX_BYTES = 4096;

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory({ limits: { bundleEntries: MAX_ENTRIES, resourceBytes: MAX_BYTES } });
});
afterAll(() => dir.close());

/** An Organization of about `bytes` bytes of JSON. */
const big = (bytes: number): Organization => organization({ alias: [`A${'a'.repeat(bytes)}`] });
const post = (name: string) => ({
  resource: organization({ name }),
  request: { method: 'POST', url: 'Organization' },
});

function bundle(type: 'transaction' | 'batch', entry: unknown[]): Promise<FhirResponse> {
  return call('POST', dir.url(''), { resourceType: 'Bundle', type, entry });
}

async function organizationCount(): Promise<number> {
  return (await call('GET', dir.url('/Organization?_summary=count'))).body.total as number;
}

function expectTooLong(res: FhirResponse, variable: string, limit: number, expression: string): void {
  expectOutcome(res, 413);
  const [only] = issuesOf(res);
  expect(issuesOf(res)).toHaveLength(1);
  expect(only).toMatchObject({ severity: 'error', code: 'too-long', expression: [expression] });
  expect(only?.diagnostics).toContain(`the limit is ${limit} (${variable})`);
}

describe('BUNDLE_MAX_ENTRIES', () => {
  it.each(['transaction', 'batch'] as const)('a %s at the limit is answered', async (type) => {
    const res = await bundle(type, [post('One'), post('Two'), post('Three')]);
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(MAX_ENTRIES);
  });

  it.each(['transaction', 'batch'] as const)('a %s over it is 413 and stores nothing', async (type) => {
    const before = await organizationCount();
    const res = await bundle(type, [post('One'), post('Two'), post('Three'), post('Four')]);
    expectTooLong(res, 'BUNDLE_MAX_ENTRIES', MAX_ENTRIES, 'Bundle.entry');
    expect(issuesOf(res)[0]?.diagnostics).toBe(
      'The Bundle has 4 entries: the limit is 3 (BUNDLE_MAX_ENTRIES)',
    );
    expect(await organizationCount()).toBe(before);
  });
});

describe('MAX_RESOURCE_BYTES', () => {
  it('a POST or PUT body over it is 413', async () => {
    expectTooLong(
      await call('POST', dir.url('/Organization'), big(MAX_BYTES)),
      'MAX_RESOURCE_BYTES',
      MAX_BYTES,
      'Organization',
    );
    expectTooLong(
      await call('PUT', dir.url('/Organization/too-big'), { ...big(MAX_BYTES), id: 'too-big' }),
      'MAX_RESOURCE_BYTES',
      MAX_BYTES,
      'Organization',
    );
    expect((await call('GET', dir.url('/Organization/too-big'))).status).toBe(404);
  });

  it('a resource just under it is stored', async () => {
    const res = await call('POST', dir.url('/Organization'), big(MAX_BYTES - 600));
    expect(res.status).toBe(201);
  });

  it('one transaction entry over it is 413 naming the entry, and nothing is stored', async () => {
    const before = await organizationCount();
    const res = await bundle('transaction', [
      post('Small'),
      { resource: big(MAX_BYTES), request: { method: 'POST', url: 'Organization' } },
    ]);
    expectTooLong(res, 'MAX_RESOURCE_BYTES', MAX_BYTES, 'Bundle.entry[1].resource');
    expect(await organizationCount()).toBe(before);
  });

  it('each entry counts on its own: three entries of 3 KB are one 9 KB Bundle', async () => {
    const entries = [1, 2, 3].map(() => ({
      resource: big(MAX_BYTES - 1200),
      request: { method: 'POST', url: 'Organization' },
    }));
    const res = await bundle('transaction', entries);
    expect(res.status).toBe(200);
  });

  it('in a batch only the entry over it fails', async () => {
    const res = await bundle('batch', [
      post('Kept'),
      { resource: big(MAX_BYTES), request: { method: 'POST', url: 'Organization' } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201 Created',
      '413',
    ]);
    expect(res.body.entry[1].response.outcome.issue[0]).toMatchObject({
      code: 'too-long',
      expression: ['Bundle.entry[1].resource'],
    });
  });

  it('a PATCH whose result is over it is 413 and stores nothing', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    const id = created.body.id as string;
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${id}`),
      [{ op: 'add', path: '/alias', value: ['a'.repeat(MAX_BYTES)] }],
      { 'content-type': 'application/json-patch+json' },
    );
    expectTooLong(res, 'MAX_RESOURCE_BYTES', MAX_BYTES, 'Organization');
    expect((await call('GET', dir.url(`/Organization/${id}`))).body.meta.versionId).toBe('1');
  });

  it('$validate of a resource over it is 413, as itself or inside Parameters', async () => {
    expectTooLong(
      await call('POST', dir.url('/Organization/$validate'), big(MAX_BYTES)),
      'MAX_RESOURCE_BYTES',
      MAX_BYTES,
      'Organization',
    );
    expectTooLong(
      await call('POST', dir.url('/Organization/$validate'), {
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: big(MAX_BYTES) }],
      }),
      'MAX_RESOURCE_BYTES',
      MAX_BYTES,
      'Parameters.parameter[0].resource',
    );
  });
});
