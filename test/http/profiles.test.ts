/**
 * The directory's profiles (profiles/): every Organization and Endpoint write is validated against
 * DirectoryOrganization or DirectoryEndpoint on top of base R4. A violation is 422 with every issue,
 * its severity and its FHIRPath expression, and nothing is stored; a conforming resource is stored
 * with the profile in meta.profile. One rule per test, through the real HTTP server.
 */
import type { Endpoint, Extension, Organization } from '@medplum/fhirtypes';
import { call, expectOutcome, issuesOf, type FhirResponse, type OutcomeIssue } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const CANONICAL = 'https://fhir-directory.example.org/fhir';
const ORG_PROFILE = `${CANONICAL}/StructureDefinition/directory-organization`;
const EP_PROFILE = `${CANONICAL}/StructureDefinition/directory-endpoint`;
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const HCID_TYPE = {
  coding: [
    { system: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/SequoiaIdentifierCodes', code: 'HCID' },
  ],
};
const THO_CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const NDH = 'http://hl7.org/fhir/us/ndh/StructureDefinition/';
const SPHD = 'https://sequoiaproject.org/fhir/sphd/StructureDefinition/';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

/** The newest entries of the system history: unchanged when nothing was written. */
async function historyMarker(): Promise<string[]> {
  const res = await call('GET', dir.url('/_history?_count=20'));
  return ((res.body.entry ?? []) as Array<{ fullUrl?: string }>).map((e) => String(e.fullUrl));
}

/** POSTs a resource the profile refuses: 422, every issue an error with an expression, nothing stored. */
async function refused(type: string, body: unknown): Promise<OutcomeIssue[]> {
  const before = await historyMarker();
  const res = await call('POST', dir.url(`/${type}`), body);
  expectOutcome(res, 422);
  for (const i of issuesOf(res)) {
    expect(i.severity).toBe('error');
    expect(i.expression?.length ?? 0).toBeGreaterThan(0);
  }
  expect(await historyMarker()).toEqual(before);
  return issuesOf(res);
}

/** The one issue at `expression` whose diagnostics match. */
function expectIssue(issues: OutcomeIssue[], expression: string, diagnostics: RegExp): void {
  const found = issues.filter(
    (i) => i.expression?.includes(expression) && diagnostics.test(i.diagnostics ?? ''),
  );
  if (found.length !== 1) throw new Error(`expected one issue at ${expression}: ${JSON.stringify(issues)}`);
}

async function accepted(type: string, body: unknown): Promise<FhirResponse> {
  const res = await call('POST', dir.url(`/${type}`), body);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return res;
}

describe('DirectoryOrganization', () => {
  it('requires active, name and type (cardinality), naming each', async () => {
    const { active: _a, name: _n, type: _t, ...bare } = organization();
    const issues = await refused('Organization', bare);
    // name is already required by base R4? No: base Organization.name is 0..1, so all three are profile issues.
    expectIssue(issues, 'Organization.active', /Missing required property/);
    expectIssue(issues, 'Organization.name', /Missing required property/);
    expectIssue(issues, 'Organization.type', /Missing required property/);
    expect(issues).toHaveLength(3);
  });

  it('us-core-16: an NPI is 10 digits', async () => {
    const issues = await refused(
      'Organization',
      organization({ identifier: [{ system: NPI, value: '123456789' }] }),
    );
    expectIssue(issues, 'Organization.identifier[0]', /us-core-16.*10 digits/);
  });

  it('us-core-17: an NPI has a valid Luhn check digit, checked on every NPI identifier', async () => {
    const issues = await refused(
      'Organization',
      organization({
        identifier: [
          { system: NPI, value: '1234567893' },
          { system: NPI, value: '1234567890' },
        ],
      }),
    );
    expect(issues).toHaveLength(1);
    expectIssue(issues, 'Organization.identifier[1]', /us-core-17.*check digit/);
  });

  it('reports every failing invariant of one identifier, not only the first', async () => {
    const issues = await refused(
      'Organization',
      organization({ identifier: [{ system: NPI, value: '12345678901' }] }),
    );
    expectIssue(issues, 'Organization.identifier[0]', /us-core-16/);
    expectIssue(issues, 'Organization.identifier[0]', /us-core-17/);
  });

  it('HCID slice: the fixed system urn:ietf:rfc:3986 and an urn:oid: value (dir-org-1)', async () => {
    const issues = await refused(
      'Organization',
      organization({
        identifier: [{ type: HCID_TYPE, system: 'urn:example:hcid', value: '2.16.840.1.113883.3.7' }],
      }),
    );
    expectIssue(issues, 'Organization.identifier[0].system', /must be exactly "urn:ietf:rfc:3986"/);
    expectIssue(issues, 'Organization.identifier[0]', /dir-org-1/);
  });

  it('HCID slice holds at most one identifier', async () => {
    const hcid = { type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: 'urn:oid:2.16.840.1.113883.3.7' };
    const issues = await refused(
      'Organization',
      organization({ identifier: [hcid, { ...hcid, value: 'urn:oid:2.16.840.1.113883.3.8' }] }),
    );
    expect(issues.some((i) => /slice 'HCID'/.test(i.diagnostics ?? ''))).toBe(true);
  });

  it('dir-org-2: an Organization is not part of itself', async () => {
    const id = 'self-parent';
    const res = await call('PUT', dir.url(`/Organization/${id}`), {
      ...organization({ partOf: { reference: `Organization/${id}` } }),
      id,
    });
    expectOutcome(res, 422);
    expectIssue(issuesOf(res), 'Organization', /dir-org-2/);
    expect((await call('GET', dir.url(`/Organization/${id}`))).status).toBe(404);
  });

  it('dir-org-3: a geolocation extension on the address has a decimal latitude and longitude', async () => {
    const geolocation: Extension = {
      url: 'http://hl7.org/fhir/StructureDefinition/geolocation',
      extension: [{ url: 'latitude', valueDecimal: 43.6 }],
    };
    const issues = await refused(
      'Organization',
      organization({ address: [{ city: 'Boise', extension: [geolocation] }] }),
    );
    expectIssue(issues, 'Organization.address[0]', /dir-org-3/);
    const complete = {
      ...geolocation,
      extension: [...(geolocation.extension ?? []), { url: 'longitude', valueDecimal: -116.2 }],
    };
    await accepted('Organization', organization({ address: [{ city: 'Boise', extension: [complete] }] }));
  });

  it('extensible type binding: a misspelt code of the value set is refused with the code to use; other codes pass', async () => {
    const misspelt = {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'PROV' }],
    };
    const issues = await refused('Organization', organization({ type: [misspelt] }));
    expectIssue(issues, 'Organization.type[0]', /organization-type\|prov': use that code/);
    const wrongSystem = { coding: [{ system: 'http://example.org/org-types', code: 'Implementer' }] };
    const issues2 = await refused('Organization', organization({ type: [wrongSystem] }));
    expectIssue(issues2, 'Organization.type[0]', /OrganizationType\|Implementer'/);
    const other = { coding: [{ system: 'http://example.org/org-types', code: 'regional-hub' }] };
    await accepted('Organization', organization({ type: [other] }));
  });

  it('stores a conforming Organization with the profile declared in meta.profile, once', async () => {
    const res = await accepted('Organization', organization({ meta: { profile: [ORG_PROFILE] } }));
    expect(res.body.meta.profile).toEqual([ORG_PROFILE]);
    const other = await accepted(
      'Organization',
      organization({ meta: { profile: ['http://example.org/StructureDefinition/x'] } }),
    );
    expect(other.body.meta.profile).toEqual(['http://example.org/StructureDefinition/x', ORG_PROFILE]);
  });

  it('refuses a PUT update that breaks the profile and keeps the stored version', async () => {
    const created = await accepted('Organization', organization());
    const id = created.body.id as string;
    const res = await call('PUT', dir.url(`/Organization/${id}`), { ...created.body, type: undefined });
    expectOutcome(res, 422);
    expect(issuesOf(res).map((i) => i.expression?.[0])).toEqual(['Organization.type']);
    const read = await call('GET', dir.url(`/Organization/${id}`));
    expect(read.body.meta.versionId).toBe('1');
  });

  it('refuses a PATCH whose result breaks the profile (422), storing nothing', async () => {
    const created = await accepted('Organization', organization());
    const res = await call(
      'PATCH',
      dir.url(`/Organization/${String(created.body.id)}`),
      [{ op: 'remove', path: '/active' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expectOutcome(res, 422);
    expect(issuesOf(res)[0]?.expression).toEqual(['Organization.active']);
  });

  it('a transaction with one non-conforming entry is 422 naming that entry, and stores nothing', async () => {
    const before = await historyMarker();
    const res = await call('POST', dir.url(''), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: organization(), request: { method: 'POST', url: 'Organization' } },
        {
          resource: endpoint({ managingOrganization: undefined }),
          request: { method: 'POST', url: 'Endpoint' },
        },
      ],
    });
    expectOutcome(res, 422);
    expect(issuesOf(res)[0]?.expression).toEqual(['Bundle.entry[1].resource.managingOrganization']);
    expect(await historyMarker()).toEqual(before);
  });
});

describe('DirectoryEndpoint', () => {
  const ext = (url: string, value: Partial<Extension>): Extension => ({ url, ...value });

  it('requires managingOrganization, as a literal reference to an Organization (dir-ep-4)', async () => {
    const missing = await refused('Endpoint', endpoint({ managingOrganization: undefined }));
    expectIssue(missing, 'Endpoint.managingOrganization', /Missing required property/);
    const contained = await refused('Endpoint', endpoint({ managingOrganization: { reference: '#org' } }));
    expectIssue(contained, 'Endpoint.managingOrganization', /dir-ep-4/);
    const display = await refused(
      'Endpoint',
      endpoint({ managingOrganization: { display: 'Valley Clinic' } }),
    );
    expectIssue(display, 'Endpoint.managingOrganization', /dir-ep-4/);
    await accepted(
      'Endpoint',
      endpoint({ managingOrganization: { reference: `${dir.baseUrl}/Organization/abc` } }),
    );
  });

  it('dir-ep-1: a FHIR or IHE endpoint is an https URL', async () => {
    const fhir = await refused('Endpoint', endpoint({ address: 'http://fhir.valley.example.org/r4' }));
    expectIssue(fhir, 'Endpoint', /dir-ep-1/);
    const xca = await refused(
      'Endpoint',
      endpoint({
        connectionType: {
          system: 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/MCSDEndpointTypes',
          code: 'ihe-xca',
        },
        payloadMimeType: ['application/soap+xml'],
        address: 'gw.valley.example.org:443/xca',
      }),
    );
    expectIssue(xca, 'Endpoint', /dir-ep-1/);
  });

  it('dir-ep-1 and dir-ep-3 read URLs and MIME types as their standards do: HTTPS:// and ;fhirVersion= pass', async () => {
    await accepted(
      'Endpoint',
      endpoint({
        address: 'HTTPS://FHIR.VALLEY.EXAMPLE.ORG/r4',
        payloadMimeType: ['application/fhir+json; fhirVersion=4.0', 'application/fhir+xml'],
      }),
    );
    const badRef = await refused(
      'Endpoint',
      endpoint({ managingOrganization: { reference: 'Organization/' } }),
    );
    expectIssue(badRef, 'Endpoint.managingOrganization', /dir-ep-4/);
  });

  it('dir-ep-2: a Direct endpoint is a mailto: address', async () => {
    const direct = endpoint({
      connectionType: { system: THO_CONNECTION, code: 'direct-project' },
      payloadMimeType: undefined,
    });
    const issues = await refused('Endpoint', { ...direct, address: 'https://direct.valley.example.org' });
    expectIssue(issues, 'Endpoint', /dir-ep-2.*mailto/);
    await accepted('Endpoint', { ...direct, address: 'mailto:records@direct.valley.example.org' });
  });

  it('dir-ep-3: a FHIR REST endpoint lists FHIR MIME types only (the DSTU2 names are refused)', async () => {
    const issues = await refused(
      'Endpoint',
      endpoint({ payloadMimeType: ['application/fhir+json', 'application/json+fhir'] }),
    );
    expectIssue(issues, 'Endpoint', /dir-ep-3/);
  });

  it('extensible connectionType: a near miss is refused with the code to use; a foreign code passes', async () => {
    const casing = await refused(
      'Endpoint',
      endpoint({ connectionType: { system: THO_CONNECTION, code: 'HL7-FHIR-REST' } }),
    );
    expectIssue(casing, 'Endpoint.connectionType', /endpoint-connection-type\|hl7-fhir-rest': use that code/);
    const system = await refused(
      'Endpoint',
      endpoint({ connectionType: { system: 'http://example.org/connection', code: 'hl7-fhir-rest' } }),
    );
    expectIssue(system, 'Endpoint.connectionType', /not in the extensible value set/);
    // The deprecated THO IHE codes and the mCSD ones are both in the value set.
    await accepted(
      'Endpoint',
      endpoint({
        connectionType: { system: THO_CONNECTION, code: 'ihe-xcpd' },
        payloadMimeType: ['application/soap+xml'],
        address: 'https://gw.valley.example.org/xcpd',
      }),
    );
    await accepted(
      'Endpoint',
      endpoint({
        connectionType: { system: 'http://example.org/connection', code: 'sftp-batch' },
        address: 'sftp://x',
      }),
    );
  });

  it('NDH environment: a CodeableConcept from NdhEndpointEnvironmentCS (type and near-miss code checked)', async () => {
    const url = `${NDH}base-ext-endpoint-environment-type`;
    const asString = await refused('Endpoint', endpoint({ extension: [ext(url, { valueString: 'prod' })] }));
    expectIssue(asString, 'Endpoint.extension[0].value.ofType(String)', /must be of type CodeableConcept/);
    const prod = (code: string): Extension =>
      ext(url, {
        valueCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointEnvironmentCS', code }],
        },
      });
    const casing = await refused('Endpoint', endpoint({ extension: [prod('Prod')] }));
    expectIssue(
      casing,
      'Endpoint.extension[0].value.ofType(CodeableConcept)',
      /NdhEndpointEnvironmentCS\|prod'/,
    );
    await accepted('Endpoint', endpoint({ extension: [prod('prod')] }));
  });

  it('dir-ep-5: an NDH trust framework names exactly one trustFrameworkType', async () => {
    const url = `${NDH}base-ext-trustFramework`;
    const issues = await refused(
      'Endpoint',
      endpoint({ extension: [ext(url, { extension: [{ url: 'qualifier', valueString: 'q' }] })] }),
    );
    expectIssue(issues, 'Endpoint.extension[0]', /dir-ep-5/);
  });

  it('se-1: a Sequoia FHIR REST transaction carries a FHIR version', async () => {
    const transaction = ext(`${SPHD}Transaction`, {
      valueCodeableConcept: {
        coding: [
          { system: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/TransactionCodes', code: 'FHIR REST' },
        ],
      },
    });
    const issues = await refused(
      'Endpoint',
      endpoint({ extension: [transaction, ext(`${SPHD}Version`, { valueString: 'R4' })] }),
    );
    expectIssue(issues, 'Endpoint', /se-1/);
    const noVersion = await refused('Endpoint', endpoint({ extension: [transaction] }));
    expectIssue(noVersion, 'Endpoint', /se-1/);
    await accepted(
      'Endpoint',
      endpoint({ extension: [transaction, ext(`${SPHD}Version`, { valueString: '4.0.1' })] }),
    );
  });

  it('keeps the Sequoia/Carequality and NDH extensions round-trip, exactly as sent', async () => {
    const extension: Extension[] = [
      ext(`${SPHD}Transaction`, {
        valueCodeableConcept: {
          coding: [
            { system: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/TransactionCodes', code: 'ITI-55' },
          ],
        },
      }),
      ext(`${SPHD}Version`, { valueString: '2.0' }),
      ext(`${SPHD}PurposesOfUse`, {
        valueCodeableConcept: {
          coding: [{ system: 'http://healthit.gov/nhin/purposeofuse', code: 'TREATMENT' }],
        },
      }),
      ext(`${SPHD}Roles`, {
        valueCodeableConcept: {
          coding: [
            { system: 'https://sequoiaproject.org/fhir/sphd/CodeSystem/EndpointRoleCodes', code: 'All' },
          ],
        },
      }),
      ext(`${NDH}base-ext-endpoint-ihe-specific-connection-type`, {
        valueCodeableConcept: {
          coding: [
            {
              system: 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/MCSDEndpointTypes',
              code: 'XCPD-RespGateway-PatientDiscovery',
            },
          ],
        },
      }),
      ext(`${NDH}base-ext-dynamicRegistration`, {
        extension: [
          {
            url: 'trustProfile',
            valueCodeableConcept: {
              coding: [{ system: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhTrustProfileCS', code: 'udap' }],
            },
          },
        ],
      }),
    ];
    const sent: Endpoint = endpoint({
      connectionType: { system: THO_CONNECTION, code: 'ihe-xcpd' },
      payloadMimeType: ['application/soap+xml'],
      address: 'https://gw.valley.example.org/xcpd',
      extension,
    });
    const created = await accepted('Endpoint', sent);
    const read = await call('GET', dir.url(`/Endpoint/${String(created.body.id)}`));
    expect(read.body.extension).toEqual(extension);
    expect(read.body.meta.profile).toEqual([EP_PROFILE]);
  });
});

describe('the CapabilityStatement', () => {
  it('declares the profiles as supportedProfile, and $validate and $export as operations', async () => {
    const res = await call('GET', dir.url('/metadata'));
    const resource = (type: string): { supportedProfile?: string[]; operation?: Array<{ name: string }> } =>
      res.body.rest[0].resource.find((r: { type: string }) => r.type === type);
    expect(resource('Organization').supportedProfile?.[0]).toBe(ORG_PROFILE);
    expect(resource('Endpoint').supportedProfile).toEqual([EP_PROFILE]);
    expect(resource('Location').supportedProfile).toBeUndefined();
    expect(resource('Endpoint').operation?.map((o) => o.name)).toEqual(['validate', 'export']);
    // Bulk Data Access IG 2.0: the system-level export, by its canonical OperationDefinition.
    expect(res.body.rest[0].operation).toEqual([
      expect.objectContaining({
        name: 'export',
        definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
      }),
    ]);
    expect(res.body.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
  });
});

describe('custom search parameters from profiles/', () => {
  it('ihe-connection-type, trust-framework, environment, access-control-mechanism, address and hcid', async () => {
    const oid = '2.16.840.1.113883.3.4242';
    const org = await call('PUT', dir.url(`/Organization/${oid}`), {
      ...organization({
        identifier: [{ type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: `urn:oid:${oid}` }],
      }),
      id: oid,
    });
    expect(org.status).toBe(201);
    const ep = await accepted(
      'Endpoint',
      endpoint({
        connectionType: { system: THO_CONNECTION, code: 'ihe-xca' },
        payloadMimeType: ['application/soap+xml'],
        address: 'https://gw.sp-test.example.org/xca/query',
        managingOrganization: { reference: `Organization/${oid}` },
        extension: [
          {
            url: 'https://profiles.ihe.net/ITI/mCSD/StructureDefinition/ihe-endpointspecifictype',
            valueCodeableConcept: {
              coding: [
                {
                  system: 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/MCSDEndpointTypes',
                  code: 'XCA-RespGateway-Query',
                },
              ],
            },
          },
          {
            url: `${NDH}base-ext-trustFramework`,
            extension: [
              {
                url: 'trustFrameworkType',
                valueCodeableConcept: {
                  coding: [
                    {
                      system: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhTrustFrameworkTypeCS',
                      code: 'TEFCA',
                    },
                  ],
                },
              },
            ],
          },
          {
            url: `${NDH}base-ext-endpoint-environment-type`,
            valueCodeableConcept: {
              coding: [
                { system: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointEnvironmentCS', code: 'staging' },
              ],
            },
          },
          {
            url: `${NDH}base-ext-endpointAccessControlMechanism`,
            valueCodeableConcept: {
              coding: [
                {
                  system: 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointAccessControlMechanismCS',
                  code: 'mutual-tls',
                },
              ],
            },
          },
        ],
      }),
    );
    const id = ep.body.id as string;
    const ids = async (query: string): Promise<string[]> => {
      const res = await call('GET', dir.url(query));
      expect(res.status).toBe(200);
      return ((res.body.entry ?? []) as Array<{ resource: { id: string } }>).map((e) => e.resource.id);
    };
    expect(
      await ids('/Endpoint?ihe-connection-type=XCA-RespGateway-Query&organization=Organization/' + oid),
    ).toEqual([id]);
    expect(await ids('/Endpoint?trust-framework=TEFCA')).toEqual([id]);
    expect(await ids('/Endpoint?environment=staging')).toEqual([id]);
    expect(await ids('/Endpoint?access-control-mechanism=mutual-tls')).toEqual([id]);
    expect(await ids('/Endpoint?address=https://gw.sp-test.example.org/xca/query')).toEqual([id]);
    expect(await ids('/Endpoint?address:below=https://gw.sp-test.example.org')).toEqual([id]);
    expect(await ids(`/Organization?hcid=urn:oid:${oid}`)).toEqual([oid]);
    expect(await ids(`/Organization?hcid=urn:oid:${oid}9`)).toEqual([]);
  });
});

describe('Carequality shape: Endpoints contained in their Organization', () => {
  const oid = '2.16.840.1.113883.3.777';
  const contained = (id: string, code: string, address: string): Endpoint => ({
    resourceType: 'Endpoint',
    id,
    status: 'active',
    connectionType: { system: THO_CONNECTION, code },
    payloadType: [{ coding: [{ system: 'urn:ietf:rfc:3986', code: 'urn:ihe:iti:xds-b:2007' }] }],
    payloadMimeType: ['application/soap+xml'],
    address,
    managingOrganization: { reference: '#' },
  });
  const carequality = (endpoints: Endpoint[]): Organization => ({
    ...organization({
      identifier: [{ type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: `urn:oid:${oid}` }],
    }),
    id: oid,
    address: [
      {
        extension: [{ url: `${SPHD}OrgLocation`, valueReference: { reference: '#OrgLoc' } }],
        city: 'Boise',
        state: 'ID',
      },
    ],
    contained: [
      {
        resourceType: 'Location',
        id: 'OrgLoc',
        name: 'Ridge',
        position: { longitude: -116.2, latitude: 43.6 },
      },
      ...endpoints,
    ],
    endpoint: endpoints.map((e) => ({ reference: `#${String(e.id)}` })),
  });
  const xcpd = contained('endpoint-1', 'ihe-xcpd', 'https://gw.ridge.example.org/xcpd');
  const xca = contained('endpoint-2', 'ihe-xca', 'https://gw.ridge.example.org/xca');

  it('PUT Organization/<oid> stores each contained Endpoint as Endpoint/<oid>-<contained id>, findable by Endpoint searches', async () => {
    const put = await call('PUT', dir.url(`/Organization/${oid}`), carequality([xcpd, xca]));
    expect(put.status).toBe(201);
    expect(put.body.endpoint).toEqual([
      { reference: `Endpoint/${oid}-endpoint-1` },
      { reference: `Endpoint/${oid}-endpoint-2` },
    ]);
    // The geocoded Location stays contained, with its reference.
    expect(put.body.contained.map((r: { id: string }) => r.id)).toEqual(['OrgLoc']);
    const found = await call('GET', dir.url(`/Endpoint?organization=Organization/${oid}&_sort=_id`));
    expect(
      found.body.entry.map((e: { resource: Endpoint }) => [
        e.resource.id,
        e.resource.address,
        e.resource.managingOrganization?.reference,
      ]),
    ).toEqual([
      [`${oid}-endpoint-1`, 'https://gw.ridge.example.org/xcpd', `Organization/${oid}`],
      [`${oid}-endpoint-2`, 'https://gw.ridge.example.org/xca', `Organization/${oid}`],
    ]);
    const xcaOnly = await call(
      'GET',
      dir.url('/Endpoint?connection-type=ihe-xca&address:below=https://gw.ridge.example.org'),
    );
    expect(xcaOnly.body.entry.map((e: { resource: Endpoint }) => e.resource.id)).toEqual([
      `${oid}-endpoint-2`,
    ]);
    const bundle = await call('GET', dir.url(`/Organization?_id=${oid}&_include=Organization:endpoint`));
    expect(bundle.body.entry.map((e: { search: { mode: string } }) => e.search.mode)).toEqual([
      'match',
      'include',
      'include',
    ]);
  });

  it('PUTting the same contained shape again writes no new version of anything', async () => {
    const history = async (): Promise<number> =>
      (await call('GET', dir.url('/_history?_count=1000'))).body.entry.length;
    const before = await history();
    const again = await call('PUT', dir.url(`/Organization/${oid}`), carequality([xcpd, xca]));
    expect(again.status).toBe(200);
    expect(again.body.meta.versionId).toBe('1');
    expect(await history()).toBe(before);
  });

  it('an Endpoint dropped from the Organization is deleted; deleting the Organization deletes the rest', async () => {
    const put = await call('PUT', dir.url(`/Organization/${oid}`), carequality([xca]));
    expect(put.status).toBe(200);
    expect((await call('GET', dir.url(`/Endpoint/${oid}-endpoint-1`))).status).toBe(410);
    expect((await call('GET', dir.url(`/Endpoint/${oid}-endpoint-2`))).status).toBe(200);
    expect((await call('DELETE', dir.url(`/Organization/${oid}`))).status).toBe(200);
    expect((await call('GET', dir.url(`/Endpoint/${oid}-endpoint-2`))).status).toBe(410);
  });

  it('a derived id that names an Endpoint of another Organization is 409, and nothing is stored', async () => {
    // Organization `<oid>` with contained `x-y` and Organization `<oid>-x` with contained `y` both give `<oid>-x-y`.
    const first = await call('PUT', dir.url(`/Organization/${oid}`), carequality([{ ...xcpd, id: 'x-y' }]));
    expect(first.status).toBe(201);
    const other = `${oid}-x`;
    const before = await historyMarker();
    const { identifier: _hcid, ...second } = carequality([{ ...xca, id: 'y' }]);
    const res = await call('PUT', dir.url(`/Organization/${other}`), { ...second, id: other });
    expectOutcome(res, 409);
    expect(issuesOf(res).map((i) => i.expression?.[0])).toEqual(['Organization.contained[1].id']);
    expect(await historyMarker()).toEqual(before);
    const kept = await call('GET', dir.url(`/Endpoint/${oid}-x-y`));
    expect([kept.body.address, kept.body.managingOrganization.reference]).toEqual([
      xcpd.address,
      `Organization/${oid}`,
    ]);
    expect((await call('DELETE', dir.url(`/Organization/${oid}`))).status).toBe(200);
  });

  it('If-Match on the Organization is about the Organization: its Endpoints keep their own versions', async () => {
    const id = '2.16.840.1.113883.3.779';
    const shape = (address: string): unknown => ({
      ...carequality([{ ...xcpd, address }]),
      id,
      identifier: [{ type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: `urn:oid:${id}` }],
    });
    expect(
      (await call('PUT', dir.url(`/Organization/${id}`), shape('https://a.example.org/xcpd'))).status,
    ).toBe(201);
    // The Endpoint changes (v2, v3), the Organization does not (still v1).
    const second = await call('PUT', dir.url(`/Organization/${id}`), shape('https://b.example.org/xcpd'), {
      'if-match': 'W/"1"',
    });
    expect(second.status).toBe(200);
    const third = await call('PUT', dir.url(`/Organization/${id}`), shape('https://c.example.org/xcpd'), {
      'if-match': 'W/"1"',
    });
    expect(third.status).toBe(200);
    expect((await call('GET', dir.url(`/Endpoint/${id}-endpoint-1`))).body.meta.versionId).toBe('3');
    expect(
      (
        await call('PUT', dir.url(`/Organization/${id}`), shape('https://d.example.org/xcpd'), {
          'if-match': 'W/"7"',
        })
      ).status,
    ).toBe(412);
  });

  it('refuses with 400, storing nothing: a contained Endpoint without an id, two contained resources with one id, a contained Endpoint managed by another Organization', async () => {
    const id = '2.16.840.1.113883.3.780';
    const base = {
      ...carequality([xcpd]),
      id,
      identifier: [{ type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: `urn:oid:${id}` }],
    };
    const located = base.contained ?? [];
    const before = await historyMarker();
    const { id: _noId, ...anonymous } = xca;
    const cases: Array<[unknown, string]> = [
      [{ ...base, contained: [...located, anonymous] }, 'Organization.contained[2]'],
      [{ ...base, contained: [...located, { ...xca, id: 'OrgLoc' }] }, 'Organization.contained[2].id'],
      [
        {
          ...base,
          contained: [located[0], { ...xcpd, managingOrganization: { reference: 'Organization/victim' } }],
        },
        'Organization.contained[1].managingOrganization',
      ],
    ];
    for (const [body, expression] of cases) {
      const res = await call('PUT', dir.url(`/Organization/${id}`), body);
      expectOutcome(res, 400);
      expect(issuesOf(res).map((i) => i.expression?.[0])).toEqual([expression]);
    }
    expect(await historyMarker()).toEqual(before);
  });

  it('a contained Endpoint that breaks DirectoryEndpoint is 422 at its place in the Organization, and nothing is stored', async () => {
    const other = '2.16.840.1.113883.3.778';
    const before = await historyMarker();
    const bad = contained('endpoint-1', 'ihe-xcpd', 'http://gw.ridge.example.org/xcpd');
    const res = await call('PUT', dir.url(`/Organization/${other}`), {
      ...carequality([bad]),
      id: other,
      identifier: [{ type: HCID_TYPE, system: 'urn:ietf:rfc:3986', value: `urn:oid:${other}` }],
    });
    expectOutcome(res, 422);
    expect(issuesOf(res).map((i) => [i.expression?.[0], /dir-ep-1/.test(i.diagnostics ?? '')])).toEqual([
      ['Organization.contained[1]', true],
    ]);
    expect(await historyMarker()).toEqual(before);
    expect((await call('GET', dir.url(`/Organization/${other}`))).status).toBe(404);
  });
});
