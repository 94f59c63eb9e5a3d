/**
 * Dates at the edges of FHIR's years, 0001 to 9999 (datatypes.html#date), through the real server:
 * stored (index extraction), searched (`date`, `_lastUpdated`), sorted and paged, and in history
 * (`_since`, `_at`). Before: `0050` was read as 1950 (JavaScript's Date.UTC maps years 0-99 to
 * 1900-1999), and the end of year 9999 was written `+010000-01-01…`, which PostgreSQL cannot read, so
 * `date=9999`, `_lastUpdated=9999` and `_at=9999` were 500s and a Period ending 9999-12-31 could not
 * be stored.
 */
import { call, putAll, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;

const role = (id: string, period: { start?: string; end?: string }): Record<string, unknown> => ({
  resourceType: 'PractitionerRole',
  id,
  active: true,
  period,
});

// PractitionerRole.date is PractitionerRole.period.
const ROLES = [
  role('pr-0050', { start: '0050-01-01', end: '0050-12-31' }),
  role('pr-1940', { start: '1940-06-01', end: '1941-01-01' }),
  role('pr-2024', { start: '2024-01-01', end: '2024-12-31' }),
  role('pr-9999', { start: '2020-01-01', end: '9999-12-31' }),
  role('pr-9999-late', { start: '9999-12-31T23:00:00-05:00' }),
];

beforeAll(async () => {
  dir = await startTestDirectory({ enforceProfiles: false });
  await putAll(dir.url(''), ROLES);
});
afterAll(() => dir.close());

const get = (path: string): Promise<FhirResponse> => call('GET', dir.url(path));

async function idsOf(path: string): Promise<string[]> {
  const res = await get(path);
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);
}

async function pagedIds(path: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = dir.url(path);
  while (next) {
    const page: FhirResponse = await call('GET', next);
    expect(page.status).toBe(200);
    ids.push(...(page.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id));
    next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return ids;
}

describe('years 0001 to 9999', () => {
  it('stores and finds year 50 as year 50, not 1950', async () => {
    expect(await idsOf('/PractitionerRole?date=0050')).toEqual(['pr-0050']);
    expect(await idsOf('/PractitionerRole?date=0050-06-15&_sort=_id')).toEqual([]);
    expect(await idsOf('/PractitionerRole?date=ap0050-06-15')).toEqual(['pr-0050']);
    expect(await idsOf('/PractitionerRole?date=1950')).toEqual([]);
    expect(await idsOf('/PractitionerRole?date=lt1900&_sort=_id')).toEqual(['pr-0050']);
  });

  it('stores a Period ending 9999-12-31 and an instant past 9999 in UTC, and finds them by year 9999', async () => {
    expect(await idsOf('/PractitionerRole?date=ap9999&_sort=_id')).toEqual(['pr-9999', 'pr-9999-late']);
    expect(await idsOf('/PractitionerRole?date=9999-12&_sort=_id')).toEqual(['pr-9999-late']);
    expect(await idsOf('/PractitionerRole?date=sa9999-06&_sort=_id')).toEqual(['pr-9999-late']);
    // The last millisecond of 9999 holds the open period that starts there (clamped) and no other.
    expect(
      await idsOf(`/PractitionerRole?date=${encodeURIComponent('9999-12-31T23:59:59.999+00:00')}`),
    ).toEqual(['pr-9999-late']);
    expect(await idsOf('/PractitionerRole?date=ap9999-12-31&_sort=_id')).toEqual(['pr-9999', 'pr-9999-late']);
  });

  it('sorts and pages by date in both directions across year 50 and year 9999', async () => {
    const ascending = ['pr-0050', 'pr-1940', 'pr-9999', 'pr-2024', 'pr-9999-late'];
    expect(await pagedIds('/PractitionerRole?_sort=date&_count=1')).toEqual(ascending);
    // Descending sorts by the end of each period: 9999's end is infinity, then the open-ended one.
    expect(await pagedIds('/PractitionerRole?_sort=-date,_id&_count=1')).toEqual([
      'pr-9999',
      'pr-9999-late',
      'pr-2024',
      'pr-1940',
      'pr-0050',
    ]);
  });

  it('answers _lastUpdated in year 9999 and year 1', async () => {
    expect(await idsOf('/PractitionerRole?_lastUpdated=9999')).toEqual([]);
    expect(await idsOf('/PractitionerRole?_lastUpdated=ge9999-12-31T23:59:59Z')).toEqual([]);
    expect((await idsOf('/PractitionerRole?_lastUpdated=lt9999&_count=100')).length).toBe(ROLES.length);
    expect((await idsOf('/PractitionerRole?_lastUpdated=gt0001&_count=100')).length).toBe(ROLES.length);
    expect(await idsOf('/PractitionerRole?_lastUpdated=le0001-01-01T00:00:00%2B01:00')).toEqual([]);
  });

  it('answers history _at and _since in year 9999 and year 1', async () => {
    const at = await get('/PractitionerRole/_history?_at=9999');
    expect(at.status).toBe(200);
    expect(at.body.entry).toHaveLength(ROLES.length);
    const since = await get('/_history?_since=9999-12-31T23:59:59.999Z');
    expect(since.status).toBe(200);
    expect(since.body.entry ?? []).toEqual([]);
    const since1 = await get('/PractitionerRole/_history?_since=0001');
    expect(since1.status).toBe(200);
    expect(since1.body.entry).toHaveLength(ROLES.length);
    const at1 = await get('/PractitionerRole/_history?_at=0001-01-01T00:30:00%2B01:00');
    expect(at1.status).toBe(200);
    expect(at1.body.entry ?? []).toEqual([]);
  });

  it.each([
    ['/PractitionerRole?date=0000', 'date'],
    ['/PractitionerRole?date=0000-12-31', 'date'],
    ['/PractitionerRole?_lastUpdated=0000', '_lastUpdated'],
    ['/PractitionerRole?date=2024-01-01T10:00:00%2B15:00', 'date'],
    ['/PractitionerRole?date=2024-01-01T10:00:00-12:60', 'date'],
    ['/PractitionerRole?date=10000', 'date'],
    ['/_history?_since=0000-01-01', '_since'],
    ['/PractitionerRole/_history?_at=0000', '_at'],
  ])('answers %s with 400 naming %s', async (path, parameter) => {
    const res = await get(path);
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]).toMatchObject({ code: 'invalid', expression: [parameter] });
  });

  it('refuses to store a date in year 0 (not a FHIR date)', async () => {
    const res = await call(
      'PUT',
      dir.url('/PractitionerRole/pr-0000'),
      role('pr-0000', { start: '0000-01-01' }),
    );
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
