/**
 * String parameters whose values another holds, stored once (src/fhir/search/shared-rows.ts): which
 * parameter reads which rows, as derived from the R4 expressions, and the rows an Organization, a
 * Location and a Practitioner now get (no copies of address parts, none for a repeated expression). The searches themselves: test/http/search-strings.
 */
import type { Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../../src/fhir/definitions';
import { extractIndexRows } from '../../src/fhir/search/extract-index';
import { searchParam } from '../../src/fhir/search/registry';

beforeAll(() => loadR4Definitions());

const stringRows = (resource: Resource): string[] =>
  extractIndexRows(resource).string.map((r) => `${r.param}=${r.exact}`);

const ADDRESS = {
  line: ['1 Main St'],
  city: 'Boston',
  district: 'Suffolk',
  state: 'MA',
  postalCode: '02110',
  country: 'US',
};
const ADDRESS_ROWS = ['address', 'address-city', 'address-country', 'address-postalcode', 'address-state'];

describe('shared string rows', () => {
  it('derives who reads whose rows from the expressions', () => {
    expect(searchParam('Organization', 'address')?.rows).toEqual(ADDRESS_ROWS);
    // Paths all among another's: it stores nothing and reads that one's rows (name keeps its own).
    expect(searchParam('Organization', 'name')?.rows).toBeUndefined();
    expect(searchParam('Organization', 'phonetic')?.rows).toEqual(['phonetic', 'name']);
    expect(searchParam('Organization', 'phonetic')?.expression).toBeUndefined();
    expect(searchParam('Organization', 'address-city')?.rows).toBeUndefined();
    expect(searchParam('Location', 'address')?.rows).toEqual(ADDRESS_ROWS);
    // HumanName parts are not shared; the same expression twice: the later code reads the earlier's.
    expect(searchParam('Practitioner', 'name')?.rows).toBeUndefined();
    expect(searchParam('Practitioner', 'phonetic')?.rows).toEqual(['phonetic', 'name']);
    expect(searchParam('Practitioner', 'phonetic')?.expression).toBeUndefined();
    // Not an Address: nothing shared.
    expect(searchParam('AuditEvent', 'address')?.rows).toBeUndefined();
    expect(searchParam('Endpoint', 'name')?.rows).toBeUndefined();
  });

  it('stores each value once', () => {
    const org = {
      resourceType: 'Organization',
      name: 'Acme',
      alias: ['ACME Health'],
      address: [ADDRESS],
    } as const;
    expect(stringRows(org as unknown as Resource).sort()).toEqual(
      [
        'address=1 Main St',
        'address=Suffolk',
        'address-city=Boston',
        'address-country=US',
        'address-postalcode=02110',
        'address-state=MA',
        'name=ACME Health',
        'name=Acme',
      ].sort(),
    );
    const location = {
      resourceType: 'Location',
      name: 'Main',
      address: { ...ADDRESS, text: '1 Main St, Boston' },
    };
    expect(stringRows(location as unknown as Resource)).toContain('address=1 Main St, Boston');
    expect(stringRows(location as unknown as Resource)).not.toContain('address=Boston');
    const practitioner = {
      resourceType: 'Practitioner',
      name: [{ text: 'Dr Ann Lee', family: 'Lee', given: ['Ann'], prefix: ['Dr'] }],
    };
    expect(stringRows(practitioner as unknown as Resource).sort()).toEqual(
      ['family=Lee', 'given=Ann', 'name=Ann', 'name=Dr', 'name=Dr Ann Lee', 'name=Lee'].sort(),
    );
  });
});
