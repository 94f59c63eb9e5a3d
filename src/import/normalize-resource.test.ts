import type { Endpoint, Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../fhir/definitions';
import { importIssues, normalizeResource } from './normalize-resource';

beforeAll(() => loadR4Definitions());

const endpoint = (extra: Record<string, unknown> = {}): Resource =>
  ({
    resourceType: 'Endpoint',
    status: 'active',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'hl7-fhir-rest',
    },
    payloadType: [{ text: 'any' }],
    payloadMimeType: ['application/fhir+json'],
    address: 'https://example.org/fhir',
    ...extra,
  }) as unknown as Resource;

const notes = (input: Resource): string[] =>
  normalizeResource(input).normalizations.map((n) => `${n.kind} ${n.expression}: ${n.detail}`);
const fixed = (input: Resource): Endpoint => normalizeResource(input).resource as Endpoint;

describe('normalizeResource', () => {
  it('leaves a valid resource alone and does not touch its input', () => {
    const input = endpoint({ period: { start: '2021-10-06T00:00:00-05:00' } });
    const copy = JSON.parse(JSON.stringify(input)) as Resource;
    expect(normalizeResource(input)).toEqual({ resource: copy, normalizations: [] });
    expect(input).toEqual(copy);
  });

  it.each([
    ['2021-10-06 00:00:00', '2021-10-06T00:00:00Z', ' (no time zone: taken as UTC)'],
    ['2021-10-06T08:15', '2021-10-06T08:15:00Z', ' (no time zone: taken as UTC)'],
    ['2021-10-06 08:15:30.250-0500', '2021-10-06T08:15:30.250-05:00', ''],
    ['2021-10-06T08:15:30+05', '2021-10-06T08:15:30+05:00', ''],
    ['2021-10-06t08:15:30z', '2021-10-06T08:15:30Z', ''],
  ])('rewrites the loose timestamp %s as %s', (loose, strict, note) => {
    expect(fixed(endpoint({ period: { start: loose } })).period?.start).toBe(strict);
    expect(notes(endpoint({ period: { start: loose } }))).toEqual([
      `timestamp Endpoint.period.start: '${loose}' -> '${strict}'${note}`,
    ]);
  });

  it.each(['2021-02-30 10:00:00', '2021-10-06 25:00', '06/10/2021 10:00', '2021-10'])(
    'leaves %s for the validator: it has no single reading',
    (value) => {
      expect(fixed(endpoint({ period: { start: value } })).period?.start).toBe(value);
    },
  );

  it('fixes instants too (meta.lastUpdated)', () => {
    expect(fixed(endpoint({ meta: { lastUpdated: '2021-10-06 10:00:00' } })).meta?.lastUpdated).toBe(
      '2021-10-06T10:00:00Z',
    );
  });

  it('drops empty values, and what they leave empty, at every depth', () => {
    const input = endpoint({
      name: '  ',
      header: [],
      payloadType: [{ text: '', coding: [{ system: '', code: '' }] }, { text: 'any' }],
      period: {},
      contact: [null],
    });
    expect(fixed(input)).toEqual(fixed(endpoint({ payloadType: [{ text: 'any' }] })));
    expect(notes(input)).toEqual([
      'empty-value Endpoint.payloadType[0].text: empty string dropped',
      'empty-value Endpoint.payloadType[0].coding[0].system: empty string dropped',
      'empty-value Endpoint.payloadType[0].coding[0].code: empty string dropped',
      'empty-value Endpoint.payloadType[0].coding[0]: object left empty by the values dropped from it: dropped',
      'empty-value Endpoint.payloadType[0].coding: array left empty by the values dropped from it: dropped',
      'empty-value Endpoint.payloadType[0]: object left empty by the values dropped from it: dropped',
      'empty-value Endpoint.name: blank string dropped',
      'empty-value Endpoint.header: empty array dropped',
      'empty-value Endpoint.period: empty object dropped',
      'empty-value Endpoint.contact[0]: null dropped',
      'empty-value Endpoint.contact: array left empty by the values dropped from it: dropped',
    ]);
  });

  it('wraps single values of arrays and unwraps one-item arrays of single values', () => {
    const input = endpoint({
      payloadMimeType: 'application/fhir+json',
      connectionType: [
        { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'x' },
      ],
    });
    expect(fixed(input)).toMatchObject({
      payloadMimeType: ['application/fhir+json'],
      connectionType: { code: 'x' },
    });
    expect(notes(input)).toEqual([
      'single-item-array Endpoint.connectionType: a one-item array unwrapped: connectionType holds one Coding',
      'single-value-array Endpoint.payloadMimeType: a single code wrapped in an array',
    ]);
  });

  it('renames legacy DSTU2 MIME types, drops them next to their R4 names, and drops repeats', () => {
    const input = endpoint({
      payloadMimeType: [
        'application/fhir+json',
        'application/json+fhir',
        'application/xml+fhir',
        'application/fhir+json',
      ],
    });
    expect(fixed(input).payloadMimeType).toEqual(['application/fhir+json', 'application/fhir+xml']);
    expect(notes(input)).toEqual([
      "legacy-mime-type Endpoint.payloadMimeType[1]: 'application/json+fhir' dropped: its R4 name 'application/fhir+json' is listed too",
      "legacy-mime-type Endpoint.payloadMimeType[2]: 'application/xml+fhir' -> 'application/fhir+xml'",
      'duplicate-mime-type Endpoint.payloadMimeType[3]: "application/fhir+json" listed twice: the repeat removed',
    ]);
  });

  it("adds the '#' to references naming a contained resource, only those", () => {
    const input = endpoint({
      contained: [{ resourceType: 'Organization', id: 'a/b+c=', name: 'Contained' }],
      managingOrganization: { reference: 'a/b+c=' },
      extension: [{ url: 'http://example.org/other', valueReference: { reference: 'Organization/a' } }],
    });
    expect(fixed(input)).toMatchObject({
      managingOrganization: { reference: '#a/b+c=' },
      extension: [{ valueReference: { reference: 'Organization/a' } }],
    });
    expect(notes(input)).toEqual([
      "contained-reference Endpoint.managingOrganization: 'a/b+c=' names a contained resource: written '#a/b+c='",
    ]);
  });

  it('trims the address and lower-cases its scheme and host, not its path', () => {
    const input = endpoint({ address: ' HTTPS://user@FHIR.Example.ORG:8443/Api/FHIR/R4/?X=Y ' });
    expect(fixed(input).address).toBe('https://user@fhir.example.org:8443/Api/FHIR/R4/?X=Y');
  });
});

describe('importIssues', () => {
  it.each([
    ['https://fhir.example.org/r4', []],
    ['mailto:direct@direct.example.org', []],
    ['fhir.example.org/r4', ['Endpoint.address']],
    ['https:///nohost', ['Endpoint.address']],
    ['https://fhir.example.org/r 4', ['Endpoint.address']],
    ['mailto:nobody', ['Endpoint.address']],
  ])('%s', (address, expressions) => {
    expect(importIssues(endpoint({ address })).map((i) => i.expression)).toEqual(expressions);
  });

  it('wants a code in connectionType', () => {
    expect(
      importIssues(
        endpoint({
          connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type' },
        }),
      ),
    ).toEqual([
      {
        expression: 'Endpoint.connectionType.code',
        message: 'missing: without a code nothing says whether the endpoint is FHIR, IHE/SOAP or Direct',
      },
    ]);
  });
});
