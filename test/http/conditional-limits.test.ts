/**
 * Conditional writes search with the request limits of the directory (src/fhir/limits.ts), like any
 * search: criteria over a limit are a 400 `too-costly` naming the configured limit, before any write.
 * The directory here allows 5 conditions, so the answer shows the configured limit is the one applied
 * (before, conditional criteria were parsed with the defaults whatever the configuration said).
 */
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory({ enforceProfiles: false, limits: { searchConditions: 5 } });
});
afterAll(() => dir.close());

const criteria = Array(300).fill('name=a').join('&');
const org = { resourceType: 'Organization', name: 'a' };

function expectConditionLimit(res: FhirResponse): void {
  expectOutcome(res, 400);
  const [first] = issuesOf(res);
  expect(first).toMatchObject({ severity: 'error', code: 'too-costly' });
  expect(first?.diagnostics).toContain('the limit is 5 (SEARCH_MAX_CONDITIONS)');
}

describe('Conditional criteria obey the request limits', () => {
  it('refuses an If-None-Exist create with 300 conditions', async () => {
    expectConditionLimit(await call('POST', dir.url('/Organization'), org, { 'if-none-exist': criteria }));
  });

  it('refuses a conditional update with 300 conditions', async () => {
    expectConditionLimit(await call('PUT', dir.url(`/Organization?${criteria}`), org));
  });

  it('refuses a conditional delete with 300 conditions', async () => {
    expectConditionLimit(await call('DELETE', dir.url(`/Organization?${criteria}`)));
  });

  it('refuses a transaction entry whose ifNoneExist has 300 conditions', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: org, request: { method: 'POST', url: 'Organization', ifNoneExist: criteria } }],
    };
    expectConditionLimit(await call('POST', dir.url(''), bundle));
  });

  it('stored nothing', async () => {
    const res = await call('GET', dir.url('/Organization?_summary=count'));
    expect(res.body.total).toBe(0);
  });

  it('still answers criteria within the limit', async () => {
    const res = await call('POST', dir.url('/Organization'), org, { 'if-none-exist': 'name=a&name=a' });
    expect(res.status).toBe(201);
  });
});
