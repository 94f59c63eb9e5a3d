/**
 * What an import finds wrong with a published list that is not a reason to reject an entry: the
 * ONC/Inferno service-base-URL test kit's checks (service-base-url-checks.ts) and the data-quality
 * problems an operator hands back to the publisher (an NPI with a bad check digit, an address that is
 * not https, an id listed twice …). Each finding names the entry, the resource as the file labels it,
 * and the FHIRPath of the element.
 */

export type FindingKind =
  | 'bundle-not-valid'
  | 'invalid-id'
  | 'duplicate-id'
  | 'duplicate-address'
  | 'unresolved-reference'
  | 'connection-type-missing'
  | 'payload-type-missing'
  | 'endpoint-status-missing'
  | 'address-not-url'
  | 'address-not-https'
  | 'endpoint-not-referenced'
  | 'organization-active-missing'
  | 'organization-name-missing'
  | 'organization-address-missing'
  | 'organization-without-endpoint'
  | 'single-organization'
  | 'invalid-npi'
  | 'identifier-system-is-code-system'
  | 'endpoint-type-mismatch'
  | 'endpoint-type-unknown'
  | 'endpoint-https-required'
  | 'nppes-npi-rows-apart'
  | 'nppes-row-shape';

/** One line each: what the finding means, for the report's headings. */
export const FINDING_KINDS: Readonly<Record<FindingKind, string>> = {
  'bundle-not-valid': 'the file is not a valid FHIR R4 Bundle (service-base-url test kit)',
  'invalid-id': "id is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-' and '.')",
  'duplicate-id': 'the same resource type and id appear on more than one entry',
  'duplicate-address': 'the same Endpoint address is listed by more than one entry',
  'unresolved-reference': 'a reference names no resource in the file',
  'connection-type-missing': 'Endpoint without connectionType (required in R4; service-base-url test kit)',
  'payload-type-missing': 'Endpoint without payloadType (required in R4)',
  'endpoint-status-missing': 'Endpoint without status (service-base-url test kit)',
  'address-not-url': 'Endpoint address is not an absolute URL (service-base-url test kit)',
  'address-not-https': 'Endpoint address does not use https',
  'endpoint-not-referenced':
    'no Organization in the file references this Endpoint (service-base-url test kit)',
  'organization-active-missing': 'Organization without active (service-base-url test kit)',
  'organization-name-missing': 'Organization without name (service-base-url test kit)',
  'organization-address-missing': 'Organization without address (service-base-url test kit)',
  'organization-without-endpoint':
    'Organization with neither endpoint references in the file nor a partOf parent that has them (service-base-url test kit)',
  'single-organization': 'the list holds only one Organization (service-base-url test kit warns)',
  'invalid-npi': 'NPI that is not 10 digits with a valid Luhn check digit',
  'identifier-system-is-code-system':
    'identifier system is a code system URL (terminology.hl7.org/CodeSystem/…), not an identifier namespace',
  'endpoint-type-mismatch':
    'endpoint that does not fit its type (a phone number typed CONNECT, a Direct address typed FHIR, a host without a scheme): not stored',
  'endpoint-type-unknown': 'NPPES endpoint type that is none of the documented codes: not stored',
  'endpoint-https-required':
    "FHIR or IHE endpoint at an http URL (the directory's Endpoint profile, dir-ep-1, requires https): not stored",
  'nppes-npi-rows-apart': "an NPI's rows are not together in the NPPES file",
  'nppes-row-shape': 'NPPES row without the 19 columns of the header',
};

export interface QualityFinding {
  kind: FindingKind;
  /** Where in the file: `entry[3]`, `line 12`, or `Bundle` for the file as a whole. */
  source: string;
  /** The resource as the file labels it: `Endpoint/<id>`. */
  resource: string;
  /** FHIRPath of the element, in the resource as it was read. */
  expression: string;
  message: string;
}

export interface FindingSummary {
  kind: FindingKind;
  description: string;
  count: number;
  /** The first few, as examples. */
  examples: QualityFinding[];
}

/**
 * Findings counted per kind, in order of first occurrence, each with up to `examples` examples;
 * `counts`, when the findings are only examples, gives the true count of each kind.
 */
export function summarizeFindings(
  findings: QualityFinding[],
  examples = 3,
  counts?: Partial<Record<FindingKind, number>>,
): FindingSummary[] {
  const byKind = new Map<FindingKind, FindingSummary>();
  for (const f of findings) {
    let summary = byKind.get(f.kind);
    if (!summary) {
      summary = { kind: f.kind, description: FINDING_KINDS[f.kind], count: 0, examples: [] };
      byKind.set(f.kind, summary);
    }
    summary.count += 1;
    if (summary.examples.length < examples) summary.examples.push(f);
  }
  if (counts) for (const summary of byKind.values()) summary.count = counts[summary.kind] ?? summary.count;
  return [...byKind.values()];
}

/**
 * NPI check digit: Luhn over the 9 digits prefixed by 80840 (CMS, "Requirements for the NPI check
 * digit"), equivalently adding 24 to the doubled-digit sum of the first 9.
 */
export function isValidNpi(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  let sum = 24;
  for (let i = 0; i < 9; i++) {
    let d = Number(value[8 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(value[9]);
}
