import type { CodeSystem, OperationOutcomeIssue, Resource, ValueSet } from '@medplum/fhirtypes';
import { checkRequiredBindings } from './required-bindings';
import { type TerminologySource, ValueSetExpander } from './value-set-expansion';

// Hostile input is typed as a Resource only to reach the function the way a parsed body does.
const check = (input: unknown): OperationOutcomeIssue[] => checkRequiredBindings(input as Resource);
const paths = (input: unknown): string[] => check(input).flatMap((i) => i.expression ?? []);

const endpoint = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
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
});

const organization = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Organization',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Acme</div>' },
  identifier: [{ use: 'official', system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
  active: true,
  name: 'Acme Health',
  telecom: [
    { system: 'phone', value: '+1 555 0100', use: 'work' },
    { system: 'fax', value: '+1 555 0101' },
    { system: 'pager', value: '+1 555 0102' },
  ],
  address: [{ use: 'work', type: 'both', line: ['1 Main St'], city: 'Springfield' }],
  contact: [{ name: { use: 'official', text: 'Front desk' }, telecom: [{ system: 'email', use: 'work' }] }],
  ...extra,
});

describe('checkRequiredBindings', () => {
  it('accepts valid resources', () => {
    expect(check(endpoint())).toEqual([]);
    expect(check(organization())).toEqual([]);
  });

  it('reports a code outside a required value set, with its path', () => {
    expect(check(endpoint({ status: 'bogus' }))).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        diagnostics:
          "Value 'bogus' is not in the required value set http://hl7.org/fhir/ValueSet/endpoint-status|4.0.1 for Endpoint.status",
        expression: ['Endpoint.status'],
      },
    ]);
  });

  it('checks ContactPoint.system and use, at any depth', () => {
    const telecom = [{ system: 'phone' }, { system: 'carrier-pigeon' }];
    expect(paths(organization({ telecom }))).toEqual(['Organization.telecom[1].system']);
    const contact = [{ telecom: [{ system: 'email', use: 'sometimes' }] }];
    expect(paths(organization({ contact }))).toEqual(['Organization.contact[0].telecom[0].use']);
  });

  it('checks Address, Identifier, HumanName and Narrative', () => {
    expect(paths(organization({ address: [{ use: 'mansion', type: 'both' }] }))).toEqual([
      'Organization.address[0].use',
    ]);
    expect(paths(organization({ identifier: [{ use: 'primary', value: 'x' }] }))).toEqual([
      'Organization.identifier[0].use',
    ]);
    expect(paths(organization({ contact: [{ name: { use: 'nickname-ish', text: 'x' } }] }))).toEqual([
      'Organization.contact[0].name.use',
    ]);
    expect(paths(organization({ text: { status: 'made-up', div: '<div/>' } }))).toEqual([
      'Organization.text.status',
    ]);
  });

  it('skips value sets over external code systems (MIME types)', () => {
    const payloadMimeType = ['application/fhir+json', 'not/a-real-type', 'garbage'];
    expect(check(endpoint({ payloadMimeType }))).toEqual([]);
    expect(
      check({
        resourceType: 'Organization',
        extension: [{ url: 'x', valueAttachment: { contentType: '?' } }],
      }),
    ).toEqual([]);
  });

  it('never checks extensible bindings (Endpoint.connectionType)', () => {
    const connectionType = { system: 'http://example.org/made-up', code: 'carrier-pigeon' };
    expect(check(endpoint({ connectionType }))).toEqual([]);
  });

  it('checks Location.status, mode and hoursOfOperation', () => {
    const location = { resourceType: 'Location', status: 'active', mode: 'instance' };
    expect(check(location)).toEqual([]);
    expect(paths({ ...location, status: 'closed', mode: 'virtual' })).toEqual([
      'Location.status',
      'Location.mode',
    ]);
    expect(paths({ ...location, hoursOfOperation: [{ daysOfWeek: ['mon', 'funday'] }] })).toEqual([
      'Location.hoursOfOperation[0].daysOfWeek[1]',
    ]);
  });

  it('checks availableTime.daysOfWeek on HealthcareService and PractitionerRole', () => {
    const availableTime = [{ daysOfWeek: ['mon', 'tue'] }, { daysOfWeek: ['sat', 'funday'] }];
    expect(paths({ resourceType: 'HealthcareService', availableTime })).toEqual([
      'HealthcareService.availableTime[1].daysOfWeek[1]',
    ]);
    expect(paths({ resourceType: 'PractitionerRole', availableTime })).toEqual([
      'PractitionerRole.availableTime[1].daysOfWeek[1]',
    ]);
  });

  it('checks Practitioner.gender', () => {
    expect(check({ resourceType: 'Practitioner', gender: 'female' })).toEqual([]);
    expect(paths({ resourceType: 'Practitioner', gender: 'f' })).toEqual(['Practitioner.gender']);
  });

  it('checks a CapabilityStatement, skipping its MIME-typed format', () => {
    const capability = (
      status: string,
      kind: string,
      fhirVersion: string,
      mode: string,
      type: string,
      code: string,
    ) => ({
      resourceType: 'CapabilityStatement',
      status,
      date: '2024-01-01',
      kind,
      fhirVersion,
      format: ['json', 'application/fhir+xml', 'weird/format'],
      rest: [{ mode, resource: [{ type, interaction: [{ code: 'read' }, { code }] }] }],
    });
    expect(check(capability('active', 'instance', '4.0.1', 'server', 'Organization', 'search-type'))).toEqual(
      [],
    );
    expect(paths(capability('live', 'service', '4.0.9', 'peer', 'Organisation', 'delete-all'))).toEqual([
      'CapabilityStatement.status',
      'CapabilityStatement.kind',
      'CapabilityStatement.fhirVersion',
      'CapabilityStatement.rest[0].mode',
      'CapabilityStatement.rest[0].resource[0].type',
      'CapabilityStatement.rest[0].resource[0].interaction[1].code',
    ]);
  });

  it('walks contained resources and Bundle entries with their own type', () => {
    const contained = [{ resourceType: 'Endpoint', id: 'e1', status: 'bogus', address: 'https://x' }];
    expect(check(organization({ contained }))).toEqual([
      expect.objectContaining({
        expression: ['Organization.contained[0].status'],
        diagnostics: expect.stringContaining('for Organization.contained[0].status') as unknown,
      }),
    ]);
    expect(
      paths({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: endpoint({ status: 'x' }) }] }),
    ).toEqual(['Bundle.entry[0].resource.status']);
    expect(paths({ resourceType: 'Bundle', type: 'heap' })).toEqual(['Bundle.type']);
  });

  it('reports every issue in one resource', () => {
    const bad = organization({
      text: { status: 'made-up', div: '<div/>' },
      telecom: [{ system: 'carrier-pigeon', use: 'always' }],
      address: [{ use: 'mansion', type: 'tunnel' }],
    });
    expect(paths(bad)).toEqual([
      'Organization.text.status',
      'Organization.telecom[0].system',
      'Organization.telecom[0].use',
      'Organization.address[0].use',
      'Organization.address[0].type',
    ]);
  });

  it('follows choice elements, extensions, inline elements and content references', () => {
    const extension = [{ url: 'http://example.org/x', valueAddress: { use: 'mansion' } }];
    expect(paths(organization({ extension }))).toEqual(['Organization.extension[0].valueAddress.use']);
    const timing = { repeat: { periodUnit: 'fortnight', dayOfWeek: ['mon'], when: ['MORN'] } };
    expect(paths({ resourceType: 'ServiceRequest', occurrenceTiming: timing })).toEqual([
      'ServiceRequest.occurrenceTiming.repeat.periodUnit',
    ]);
    const item = [{ linkId: '1', type: 'group', item: [{ linkId: '1.1', type: 'essay' }] }];
    expect(paths({ resourceType: 'Questionnaire', status: 'active', item })).toEqual([
      'Questionnaire.item[0].item[0].type',
    ]);
  });

  it('requires a CodeableConcept to carry a coding from the value set', () => {
    const system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
    const allergy = (clinicalStatus: unknown) => ({ resourceType: 'AllergyIntolerance', clinicalStatus });
    expect(check(allergy({ coding: [{ system, code: 'active' }] }))).toEqual([]);
    expect(
      check(
        allergy({
          coding: [
            { system: 'http://x', code: 'y' },
            { system, code: 'resolved' },
          ],
        }),
      ),
    ).toEqual([]);
    expect(check(allergy({ coding: [{ system, code: 'ongoing' }] }))[0]?.diagnostics).toBe(
      `None of the codings ('${system}|ongoing') is in the required value set ` +
        'http://hl7.org/fhir/ValueSet/allergyintolerance-clinical|4.0.1 for AllergyIntolerance.clinicalStatus',
    );
    expect(paths(allergy({ coding: [{ code: 'active' }] }))).toEqual(['AllergyIntolerance.clinicalStatus']);
    expect(paths(allergy({ coding: [{ system, display: 'Active' }] }))).toEqual([
      'AllergyIntolerance.clinicalStatus',
    ]);
    expect(check(allergy({ text: 'Active' }))[0]?.diagnostics).toMatch(
      /^CodeableConcept with only text 'Active'/,
    );
    expect(check(allergy({ extension: [{ url: 'x', valueCode: 'unknown' }] }))).toEqual([]);
  });

  it('skips a binding pinned to a version the definitions do not hold', () => {
    // R4B's SubscriptionStatus, backported by medplum, binds subscription-status|4.3.0; R4 ships 4.0.1.
    expect(check({ resourceType: 'SubscriptionStatus', status: 'entered-in-error', type: 'bogus' })).toEqual(
      [],
    );
  });

  it('ignores unknown properties and primitive extensions', () => {
    const extra = { foo: { status: 'bogus' }, _status: { extension: [{ url: 'x', valueCode: 'bogus' }] } };
    expect(check(endpoint(extra))).toEqual([]);
  });

  it('never throws on hostile input', () => {
    const inputs: unknown[] = [
      null,
      undefined,
      42,
      'Organization',
      [],
      { resourceType: 42 },
      { resourceType: 'NoSuchType', status: 'bogus' },
      { resourceType: '__proto__' },
      { resourceType: 'Organization', telecom: 'x', address: [null, 5, [], { use: 7 }], text: [] },
      { resourceType: 'Organization', contained: [null, { resourceType: 'Organization', contained: 'x' }] },
      { resourceType: 'AllergyIntolerance', clinicalStatus: { coding: 'x', text: 5 } },
    ];
    for (const input of inputs) expect(check(input)).toEqual([]);

    let deep: Record<string, unknown> = { url: 'x', valueAddress: { use: 'mansion' } };
    for (let i = 0; i < 20000; i++) deep = { url: 'x', extension: [deep] };
    expect(() => check({ resourceType: 'Organization', extension: [deep] })).not.toThrow();

    const cyclic: Record<string, unknown> = { resourceType: 'Organization', telecom: [{ system: 'bogus' }] };
    cyclic.contained = [cyclic];
    const ext: Record<string, unknown> = { url: 'x' };
    ext.extension = [ext, ext];
    cyclic.extension = [ext];
    expect(paths(cyclic)).toEqual(['Organization.telecom[0].system']);

    const throwing = { resourceType: 'Organization', telecom: [{ system: 'bogus' }] };
    Object.defineProperty(throwing, 'address', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(paths(throwing)).toEqual(['Organization.telecom[0].system']);
  });

  // How long a warm check takes is measured by bench/validation.js, not asserted here.
  it('gives the same answer however often a resource is checked (warm caches change nothing)', () => {
    const valid = organization();
    const bad = organization({ telecom: [{ system: 'carrier-pigeon' }] });
    for (let i = 0; i < 100; i++) {
      expect(check(valid)).toEqual([]);
      expect(paths(bad)).toEqual(['Organization.telecom[0].system']);
    }
  });
});

describe('ValueSetExpander', () => {
  const codeSystem = (
    url: string,
    content: CodeSystem['content'],
    concept: CodeSystem['concept'],
  ): CodeSystem => ({
    resourceType: 'CodeSystem',
    url,
    status: 'active',
    content,
    concept,
  });
  const valueSet = (url: string, compose: ValueSet['compose'], version = '1'): ValueSet => ({
    resourceType: 'ValueSet',
    url,
    version,
    status: 'active',
    compose,
  });
  const systems = [
    codeSystem('http://x/colors', 'complete', [
      { code: 'red', concept: [{ code: 'dark-red', concept: [{ code: 'maroon' }] }] },
      { code: 'blue' },
    ]),
    codeSystem('http://x/partial', 'fragment', [{ code: 'a' }]),
  ];
  const sets = [
    valueSet('http://x/vs/all-colors', { include: [{ system: 'http://x/colors' }] }),
    valueSet('http://x/vs/listed', {
      include: [{ system: 'http://unitsofmeasure.org', concept: [{ code: 'd' }] }],
    }),
    valueSet('http://x/vs/no-maroon', {
      include: [{ valueSet: ['http://x/vs/all-colors|1'] }],
      exclude: [{ system: 'http://x/colors', concept: [{ code: 'maroon' }] }],
    }),
    valueSet('http://x/vs/union', {
      include: [
        { valueSet: ['http://x/vs/listed'] },
        { system: 'http://x/colors', concept: [{ code: 'blue' }] },
      ],
    }),
    valueSet('http://x/vs/filtered', {
      include: [{ system: 'http://x/colors', filter: [{ property: 'concept', op: 'is-a', value: 'red' }] }],
    }),
    valueSet('http://x/vs/external', { include: [{ system: 'urn:ietf:bcp:47' }] }),
    valueSet('http://x/vs/partial', { include: [{ system: 'http://x/partial' }] }),
    valueSet('http://x/vs/self', { include: [{ valueSet: ['http://x/vs/self'] }] }),
  ];
  const source: TerminologySource = {
    valueSet: (url) => sets.find((s) => s.url === url),
    codeSystem: (url) => systems.find((s) => s.url === url),
  };
  const codes = (canonical: string): string[] | undefined => {
    const expansion = new ValueSetExpander(source).expand(canonical);
    return expansion && [...expansion.codes].sort();
  };

  it('expands whole code systems with nested concepts, concept lists, imports and excludes', () => {
    expect(codes('http://x/vs/all-colors')).toEqual(['blue', 'dark-red', 'maroon', 'red']);
    expect(codes('http://x/vs/all-colors|1')).toEqual(['blue', 'dark-red', 'maroon', 'red']);
    expect(codes('http://x/vs/listed')).toEqual(['d']);
    expect(codes('http://x/vs/no-maroon')).toEqual(['blue', 'dark-red', 'red']);
    expect(codes('http://x/vs/union')).toEqual(['blue', 'd']);
    expect(new ValueSetExpander(source).expand('http://x/vs/union')?.systems.get('http://x/colors')).toEqual(
      new Set(['blue']),
    );
  });

  it('gives up on what it cannot enumerate', () => {
    for (const url of ['filtered', 'external', 'partial', 'self', 'missing'])
      expect(codes(`http://x/vs/${url}`)).toBeUndefined();
    expect(codes('http://x/vs/all-colors|2')).toBeUndefined();
  });
});
