/**
 * The NPPES endpoint file's rows as the directory's entries, one NPI at a time (the file lists an
 * NPI's rows together; see README "The NPPES endpoint file"):
 *
 * - **One Organization per NPI.** The file does not say whether an NPI is a person (type 1) or an
 *   organization (type 2), and gives it no name. Whoever holds the NPI is the party that publishes
 *   these endpoints, and the directory lists endpoints by the Organization that manages them, so
 *   each NPI becomes an Organization typed `prov`, identified by its NPI (and by the source's own
 *   identifier that re-imports find it by), named `NPI <npi>` (the directory requires a name, the file
 *   gives none, and no other is invented), its
 *   `address` the distinct endpoint locations of its rows. An affiliation (Affiliation = Y, the
 *   affiliated organization's legal business name) is kept on the Endpoint: a name without an NPI
 *   or EIN identifies no entry of its own.
 * - **One Endpoint per NPI, type and address**, managed by the NPI's Organization: an address listed
 *   under many NPIs (a practice's Direct address under each clinician) is one Endpoint for each, as
 *   for Epic's and Lantern's shared addresses, so that one NPI's rows never move another's Endpoint
 *   and `Organization?_has:Endpoint:organization:connection-type=…` finds every NPI listing it.
 *   The same NPI, type and address twice is read once (reported).
 * - Kept on the Endpoint, in the extension `…/StructureDefinition/nppes-endpoint`: the NPPES type
 *   (code and description as written), the use (code, description, other use), the affiliation flag,
 *   name, and the endpoint location address; the content type becomes `payloadType` (NPPES content
 *   code), `Endpoint Description` the Endpoint's `name`.
 * - Rows whose endpoint does not fit its type, of an unknown type, a FHIR or IHE endpoint at an http
 *   URL (the Endpoint profile's dir-ep-1 wants https), or whose NPI is not 10 digits or fails its
 *   check digit are reported and not stored.
 */
import type { Address, Endpoint, Extension, Organization } from '@medplum/fhirtypes';
import { DIRECTORY_CANONICAL } from '../../fhir/directory-canonical';
import { PAYLOAD_TYPES } from '../hti1/hti1-normalize';
import { NPI_SYSTEM } from '../hti1/service-base-url-checks';
import type { ImportReport } from '../import-report';
import { isValidNpi, type FindingKind } from '../quality-findings';
import { PROVIDER_TYPE } from '../vendors/list-entries';
import { addEndpoint, type VendorUnit } from '../vendors/vendor-plan';
import { endpointAddress, NPPES_ENDPOINT_TYPES } from './nppes-endpoint-types';
import { npiKey } from './nppes-ids';
import type { NppesRow } from './nppes-rows';

export const NPPES_EXTENSION = `${DIRECTORY_CANONICAL}/StructureDefinition/nppes-endpoint`;
export const NPPES_TYPE_SYSTEM = `${DIRECTORY_CANONICAL}/CodeSystem/nppes-endpoint-type`;
export const NPPES_USE_SYSTEM = `${DIRECTORY_CANONICAL}/CodeSystem/nppes-endpoint-use`;
export const NPPES_CONTENT_SYSTEM = `${DIRECTORY_CANONICAL}/CodeSystem/nppes-endpoint-content`;

export interface NppesList {
  name: string;
  /** The source's uri: the identifier system its Organizations are found by on re-import. */
  uri: string;
}

/**
 * Findings kept per kind as examples (all are counted, in `findingCounts`): a 500,000-row file has
 * about 19,000 misfit rows, and the report shows a few examples of each kind.
 */
export const FINDING_EXAMPLES = 200;

/** Reads rows into units (one per NPI), reporting what does not fit into the report's findings. */
export class NppesUnits {
  private current:
    { npi: string; unit: VendorUnit; addresses: Map<string, string>; locations: Set<string> } | undefined;
  /** NPIs already made into a unit (npiKey): an NPI whose rows are apart in the file is reported. */
  private readonly seen = new Set<number>();
  rows = 0;

  constructor(
    private readonly list: NppesList,
    private readonly report: Pick<ImportReport, 'findings' | 'findingCounts'>,
  ) {}

  /** Adds a row; returns the previous NPI's unit when this row starts another NPI. */
  add(row: NppesRow): VendorUnit | undefined {
    this.rows += 1;
    const source = `line ${row.line}`;
    const label = `NPI ${row.npi} ${row.type} '${row.endpoint}'`;
    const finding = (kind: FindingKind, expression: string, message: string): void => {
      const counts = (this.report.findingCounts ??= {});
      counts[kind] = (counts[kind] ?? 0) + 1;
      if ((counts[kind] ?? 0) <= FINDING_EXAMPLES)
        this.report.findings.push({ kind, source, resource: label, expression, message });
    };
    if (row.columns !== undefined)
      finding('nppes-row-shape', 'row', `${row.columns} columns, not 19: read by position`);
    if (!/^\d{10}$/.test(row.npi)) {
      finding(
        'invalid-npi',
        'NPI (Organization.identifier)',
        `'${row.npi}' is not 10 digits: row not stored`,
      );
      return undefined;
    }
    // The directory's Organization profile (US Core us-core-17) refuses an NPI whose check digit
    // fails: such a row is reported and not stored (a rejection would hold back retirements).
    if (!isValidNpi(row.npi)) {
      finding(
        'invalid-npi',
        'NPI (Organization.identifier)',
        `'${row.npi}': check digit does not match: row not stored`,
      );
      return undefined;
    }
    const type = NPPES_ENDPOINT_TYPES[row.type];
    if (!type) {
      finding(
        'endpoint-type-unknown',
        'Endpoint Type (Endpoint.connectionType)',
        `'${row.type}' is none of ${Object.keys(NPPES_ENDPOINT_TYPES).join(', ')}: row not stored`,
      );
      return undefined;
    }
    const fit = endpointAddress(row.type, row.endpoint);
    if ('misfit' in fit) {
      finding('endpoint-type-mismatch', 'Endpoint (Endpoint.address)', `${fit.misfit}: row not stored`);
      return undefined;
    }
    if (/^http:\/\//i.test(fit.address)) {
      // The directory's Endpoint profile (dir-ep-1) refuses a FHIR or IHE endpoint that is not https:
      // reported and not stored, as a misfit (a rejection would hold back retirements).
      if (/^(hl7-fhir-|ihe-)/.test(type.connectionType.code ?? '')) {
        finding(
          'endpoint-https-required',
          'Endpoint (Endpoint.address)',
          `${row.type} endpoint '${fit.address}' is http, not https: row not stored`,
        );
        return undefined;
      }
      finding('address-not-https', 'Endpoint (Endpoint.address)', `'${fit.address}'`);
    }

    const done = this.current?.npi === row.npi ? undefined : this.flush();
    if (!this.current) {
      if (this.seen.has(npiKey(row.npi)))
        finding(
          'nppes-npi-rows-apart',
          'NPI',
          `rows of NPI ${row.npi} were listed before, apart from these: its Organization lists only the endpoints of these rows`,
        );
      this.seen.add(npiKey(row.npi));
      this.current = {
        npi: row.npi,
        unit: { organizations: [], endpoints: [] },
        addresses: new Map(),
        locations: new Set(),
      };
      this.current.unit.organizations.push({
        source,
        order: row.line,
        label: `Organization NPI ${row.npi}`,
        resource: organizationOf(row.npi, this.list),
        normalizations: [],
        issues: [],
        match: { system: this.list.uri, value: row.npi },
        links: [],
      });
    }
    const current = this.current;
    // One Endpoint per address and Organization (re-imports find an Endpoint by its address).
    const first = current.addresses.get(fit.address);
    if (first !== undefined) {
      finding(
        'duplicate-address',
        'Endpoint (Endpoint.address)',
        `NPI ${row.npi} lists '${row.endpoint}' again (first ${first}): read once`,
      );
      return done;
    }
    current.addresses.set(fit.address, `${source} as ${row.type}`);
    const location = locationOf(row);
    const org = current.unit.organizations[0]?.resource as Organization;
    const locationKey = location && JSON.stringify(location);
    if (location && locationKey && !current.locations.has(locationKey)) {
      current.locations.add(locationKey);
      org.address = [...(org.address ?? []), location];
    }
    addEndpoint(
      current.unit,
      {
        source,
        order: row.line,
        label,
        resource: endpointOf(row, fit.address, type.connectionType, location),
        normalizations: [],
        issues: [],
        manager: 0,
      },
      true,
    );
    return done;
  }

  /** The unit of the NPI read last, if any (call at the end of the file). */
  flush(): VendorUnit | undefined {
    const unit = this.current?.unit;
    this.current = undefined;
    return unit;
  }
}

function organizationOf(npi: string, list: NppesList): Organization {
  return {
    resourceType: 'Organization',
    active: true,
    type: [PROVIDER_TYPE],
    // The directory's Organizations need a name and the file gives none: the NPI stands for it.
    name: `NPI ${npi}`,
    identifier: [
      { system: NPI_SYSTEM, value: npi },
      { system: list.uri, value: npi },
    ],
  };
}

function locationOf(row: NppesRow): Address | undefined {
  const address: Address = {
    ...(row.line1 || row.line2 ? { line: [row.line1, row.line2].filter((l) => l !== '') } : {}),
    ...(row.city ? { city: row.city } : {}),
    ...(row.state ? { state: row.state } : {}),
    ...(row.postalCode ? { postalCode: row.postalCode } : {}),
    ...(row.country ? { country: row.country } : {}),
  };
  return Object.keys(address).length > 0 ? address : undefined;
}

function coding(
  system: string,
  code: string,
  display: string,
): { system: string; code: string; display?: string } {
  return { system, code, ...(display ? { display } : {}) };
}

function endpointOf(
  row: NppesRow,
  address: string,
  connectionType: Endpoint['connectionType'],
  location: Address | undefined,
): Endpoint {
  const parts: Extension[] = [
    { url: 'type', valueCoding: coding(NPPES_TYPE_SYSTEM, row.type, row.typeDescription) },
  ];
  if (row.useCode)
    parts.push({ url: 'use', valueCoding: coding(NPPES_USE_SYSTEM, row.useCode, row.useDescription) });
  if (row.otherUse) parts.push({ url: 'otherUse', valueString: row.otherUse });
  if (row.affiliation === 'Y' || row.affiliation === 'N')
    parts.push({ url: 'affiliation', valueBoolean: row.affiliation === 'Y' });
  if (row.affiliationName) parts.push({ url: 'affiliationName', valueString: row.affiliationName });
  if (location) parts.push({ url: 'location', valueAddress: location });
  const payload = row.contentType
    ? {
        coding: [coding(NPPES_CONTENT_SYSTEM, row.contentType, row.contentDescription)],
        ...(row.otherContent ? { text: row.otherContent } : {}),
      }
    : { coding: [{ system: PAYLOAD_TYPES, code: 'none', display: 'None' }] };
  return {
    resourceType: 'Endpoint',
    extension: [{ url: NPPES_EXTENSION, extension: parts }],
    status: 'active',
    connectionType,
    ...(row.endpointDescription ? { name: row.endpointDescription } : {}),
    payloadType: [payload],
    address,
  };
}
