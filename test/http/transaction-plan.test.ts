/**
 * Transactions are planned before the write lock and checked again under it (transaction-plan.ts):
 * when another writer changes what a conditional entry matches in between, the plan is made again,
 * so the result is the one a fully locked run would give.
 */
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const SYSTEM = 'urn:example:plan-test';

it('20 simultaneous transactions with the same conditional create make exactly one resource', async () => {
  const entry = {
    fullUrl: 'urn:uuid:8d5c3b8e-1111-4c1c-9d7e-3a1c2b4d5e6f',
    resource: organization({ identifier: [{ system: SYSTEM, value: 'once' }] }),
    request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${SYSTEM}|once` },
  };
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [entry] }),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  const statuses = responses.map((r) => r.body.entry[0].response.status as string).sort();
  expect(statuses).toEqual([...Array.from({ length: 19 }, () => '200 OK'), '201 Created']);
  const ids = new Set(responses.map((r) => r.body.entry[0].fullUrl as string));
  expect(ids.size).toBe(1);
  const found = await call('GET', dir.url(`/Organization?identifier=${SYSTEM}|once&_summary=count`));
  expect(found.body.total).toBe(1);
});

it('20 simultaneous conditional PUTs with a client id and no match yet store one resource, updated in turn', async () => {
  const put = (name: string) => ({
    resource: { ...organization({ name, identifier: [{ system: SYSTEM, value: 'put' }] }), id: 'plan-put' },
    request: { method: 'PUT', url: `Organization?identifier=${SYSTEM}|put` },
  });
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [put(`Put ${i}`)] }),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  const statuses = responses.map((r) => r.body.entry[0].response.status as string).sort();
  expect(statuses).toEqual([...Array.from({ length: 19 }, () => '200 OK'), '201 Created'].sort());
  const stored = await call('GET', dir.url('/Organization/plan-put'));
  expect(stored.body.meta.versionId).toBe('20');
});
