/**
 * Search index values of any length (issue 9, finding 7): a 5,000-character identifier value or
 * system, reference, name or address used to answer 500 (a btree index row holds at most ~2,700
 * bytes). Indexed forms longer than 1,000 UTF-8 bytes are now stored as their first 200 characters
 * plus a SHA-256 of the whole value (src/storage/indexed-text.ts), and searches apply the same
 * transform, so every such resource is stored and found by an exact search, ASCII or 4-byte UTF-8.
 * Long search values travel in a POST _search body: a 5,000-character URL is over Node's header limit.
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

/** A deterministic, incompressible text of `length` characters drawn from `alphabet`. */
function longText(seed: number, length: number, alphabet: string[]): string {
  let state = seed;
  const out: string[] = [];
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out.push(alphabet[(state >>> 0) % alphabet.length] as string);
  }
  return out.join('');
}

/** The first `n` characters (code points: slicing UTF-16 units could split a 4-byte character). */
const head = (text: string, n: number): string => Array.from(text).slice(0, n).join('');

const ASCII = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
/** Four bytes each in UTF-8 (U+1F600…U+1F64F): 5,000 of them are 20,000 bytes. */
const EMOJI = Array.from({ length: 80 }, (_, i) => String.fromCodePoint(0x1f600 + i));
const ALPHABETS = { ascii: ASCII, '4-byte UTF-8': EMOJI };

async function create(body: Organization | Endpoint): Promise<string> {
  const res = await call('POST', dir.url(`/${body.resourceType}`), body);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** The ids a search finds, asked as POST /{type}/_search so the values travel in the body. */
async function found(type: string, params: Record<string, string>): Promise<string[]> {
  const res = await call('POST', dir.url(`/${type}/_search`), new URLSearchParams(params).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  expect(res.status).toBe(200);
  return ((res.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id).sort();
}

describe.each(Object.entries(ALPHABETS))('5,000-character index values (%s)', (name, alphabet) => {
  const seed = name === 'ascii' ? 7 : 11;
  const long = longText(seed, 5000, alphabet);
  // Same first 4,999 characters: only the hash of the whole value tells them apart.
  const twin = head(long, 4999) + (long.endsWith(alphabet[0] as string) ? alphabet[1] : alphabet[0]);

  it('identifier value: stored (201) and found by system|value and by value', async () => {
    const system = `http://example.org/long-${seed}`;
    const id = await create(organization({ identifier: [{ system, value: long }] }));
    const other = await create(organization({ identifier: [{ system, value: twin }] }));
    expect(await found('Organization', { identifier: `${system}|${long}` })).toEqual([id]);
    expect(await found('Organization', { identifier: long })).toEqual([id]);
    expect(await found('Organization', { identifier: `${system}|${twin}` })).toEqual([other]);
  });

  it('identifier value: found through a chain, and replaced by an update (PUT)', async () => {
    const system = `http://example.org/chain-${seed}`;
    const org = await create(organization({ identifier: [{ system, value: long }] }));
    const ep = await create(endpoint({ managingOrganization: { reference: `Organization/${org}` } }));
    expect(await found('Endpoint', { 'organization.identifier': `${system}|${long}` })).toEqual([ep]);
    const put = await call(
      'PUT',
      dir.url(`/Organization/${org}`),
      organization({ id: org, identifier: [{ system, value: twin }] }),
    );
    expect(put.status).toBe(200);
    expect(await found('Organization', { identifier: `${system}|${long}` })).toEqual([]);
    expect(await found('Organization', { identifier: `${system}|${twin}` })).toEqual([org]);
  });

  it('identifier system: stored (201) and found by system|value and by system|', async () => {
    const system = `http://example.org/${long}`;
    const id = await create(organization({ identifier: [{ system, value: `v${seed}` }] }));
    expect(await found('Organization', { identifier: `${system}|v${seed}` })).toEqual([id]);
    expect(await found('Organization', { identifier: `${system}|` })).toEqual([id]);
    expect(await found('Organization', { identifier: `http://example.org/${twin}|` })).toEqual([]);
  });

  it('identifier system and value of 1,000 bytes each (kept whole, in one index entry): stored and found', async () => {
    const perChar = name === 'ascii' ? 1 : 4;
    const system = longText(seed + 1, 1000 / perChar, alphabet);
    const value = longText(seed + 2, 1000 / perChar, alphabet);
    const id = await create(organization({ identifier: [{ system, value }] }));
    expect(await found('Organization', { identifier: `${system}|${value}` })).toEqual([id]);
  });

  it('reference: stored (201) and found by the reference', async () => {
    const target = `Organization/${long}`;
    const id = await create(organization({ partOf: { reference: target } }));
    expect(await found('Organization', { partof: target })).toEqual([id]);
    expect(await found('Organization', { partof: long })).toEqual([id]);
    expect(await found('Organization', { partof: `Organization/${twin}` })).toEqual([]);
  });

  it('name: stored (201) and found by :exact, by the whole value and by a short prefix', async () => {
    const id = await create(organization({ name: long }));
    const other = await create(organization({ name: twin }));
    expect(await found('Organization', { 'name:exact': long })).toEqual([id]);
    // A prefix past 200 characters matches every long value with the same first 200 (README, Search).
    expect(await found('Organization', { name: long })).toEqual([id, other].sort());
    expect(await found('Organization', { name: head(long, 50) })).toEqual([id, other].sort());
    expect(await found('Organization', { 'name:contains': Array.from(long).slice(20, 60).join('') })).toEqual(
      [id, other].sort(),
    );
    expect(await found('Organization', { name: head(long, 250) })).toEqual([id, other].sort());
    // Beyond the first 200 characters of a long value only :exact looks (README, Search).
    expect(
      await found('Organization', { 'name:contains': Array.from(long).slice(300, 340).join('') }),
    ).toEqual([]);
  });

  it('name: long values sort and page by their indexed form', async () => {
    const prefix = `zz-sorted-${seed}-`;
    const first = await create(organization({ name: `${prefix}${long}` }));
    const second = await create(organization({ name: `${prefix}${twin}~` }));
    const res = await call('GET', dir.url(`/Organization?name=${prefix}&_sort=name&_count=1`));
    expect(res.status).toBe(200);
    const ids = [res.body.entry[0].resource.id as string];
    const next = (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next');
    expect(next).toBeDefined();
    const page2 = await call('GET', next?.url ?? '');
    expect(page2.status).toBe(200);
    ids.push(page2.body.entry[0].resource.id as string);
    expect(page2.body.link.find((l: { relation: string }) => l.relation === 'next')).toBeUndefined();
    expect(ids.sort()).toEqual([first, second].sort());
  });

  it('address (uri): stored (201) and found by the whole address', async () => {
    const address = `https://fhir.example.org/${long}`;
    const id = await create(endpoint({ address }));
    expect(await found('Endpoint', { address })).toEqual([id]);
    expect(await found('Endpoint', { 'address:below': head(address, 120) })).toEqual([id]);
  });
});
