/**
 * What an import tells its caller: per resource, whether it was created, updated, left unchanged or
 * rejected (each reason with the FHIRPath expression of its element), and every normalization applied
 * on the way (what was fixed, and where).
 */

import { summarizeFindings, type FindingKind, type QualityFinding } from './quality-findings';

/** Which reader the file went through: a vendor list's shape, or plain FHIR resources. */
export type ImportSource = 'hti1' | 'nppes-endpoints' | 'lantern-list' | 'epic' | 'cerner' | 'fhir';

export const IMPORT_SOURCES: readonly ImportSource[] = [
  'hti1',
  'nppes-endpoints',
  'lantern-list',
  'epic',
  'cerner',
  'fhir',
];

export type NormalizationKind =
  | 'contained-organization'
  | 'contained-reference'
  | 'legacy-mime-type'
  | 'duplicate-mime-type'
  | 'single-value-array'
  | 'single-item-array'
  | 'empty-value'
  | 'timestamp'
  | 'address'
  | 'default-active'
  | 'default-type'
  | 'source-identifier'
  | 'managing-organization'
  | 'endpoint-reference-dropped'
  | 'part-of'
  | 'managing-organization-id'
  | 'contained-organization-same'
  | 'code-system-quote'
  | 'default-connection-type'
  | 'default-payload-type'
  | 'state-code'
  | 'country-code';

/** One line each, for the summary of what an import normalized. */
export const NORMALIZATION_KINDS: Readonly<Record<NormalizationKind, string>> = {
  'contained-organization':
    'the contained Organization became a standalone Organization, referenced as managingOrganization',
  'contained-reference': "reference to a contained resource written without '#'",
  'legacy-mime-type':
    "legacy DSTU2 MIME type ('application/json+fhir', 'application/xml+fhir'): replaced by its R4 name, or dropped where that is listed too",
  'duplicate-mime-type': 'MIME type listed twice: the repeat removed',
  'single-value-array': 'a single value where FHIR wants an array: wrapped in an array',
  'single-item-array': 'a one-item array where FHIR wants a single value: unwrapped',
  'empty-value': 'empty string, object, array or null dropped (FHIR JSON has no empty values)',
  timestamp: 'timestamp rewritten in FHIR format (a missing time zone is taken as UTC)',
  address: 'address trimmed, scheme and host lower-cased',
  'default-active': 'active defaulted to true (the vendor lists it as a current organization)',
  'default-type':
    'type defaulted to organization-type#prov: vendor patient-access lists publish provider organizations',
  'source-identifier': "identifier added with the vendor's own id, so that re-imports find this Organization",
  'managing-organization': 'managingOrganization set to the Organization that references this Endpoint',
  'endpoint-reference-dropped': 'endpoint reference dropped: its Endpoint is not in the file or was rejected',
  'part-of':
    'partOf: to a parent Organization in the file, set to its stored id; to one not in the file or rejected, dropped',
  'managing-organization-id':
    'managingOrganization written as {"id": …}: read as the reference it names (FHIR Reference has no id of a target)',
  'contained-organization-same':
    'contained Organization dropped: the Organization in the file that references this Endpoint has the same name',
  'code-system-quote': "stray quote around a coding's system URL removed",
  'default-connection-type':
    'connectionType absent: set to hl7-fhir-rest (a service-base-URL list lists FHIR service base URLs only, 45 CFR 170.404(b)(2))',
  'default-payload-type':
    'payloadType absent (required in R4): set to endpoint-payload-type#none, which says that none is stated',
  'state-code': 'state written as a full name: replaced by its USPS code',
  'country-code': 'country written as a name: replaced by its ISO 3166 code',
};

export interface Normalization {
  kind: NormalizationKind;
  /** FHIRPath of the element in the resource as it was read, e.g. `Endpoint.payloadMimeType[1]`. */
  expression: string;
  /** What exactly changed, e.g. `'application/json+fhir' -> 'application/fhir+json'`. */
  detail: string;
}

export interface ImportIssue {
  /** FHIRPath of the offending element, e.g. `Endpoint.address`; empty when the entry is no resource at all. */
  expression: string;
  message: string;
}

export interface Rejection {
  /** Where the resource is in the file: `entry[3]` or `line 12`. */
  source: string;
  /** A label for people: `Endpoint/<id as in the file>`, `Organization 'Name'`. */
  resource: string;
  /** `expression: message`, one per issue. */
  reasons: string[];
  issues: ImportIssue[];
  /** What had been normalized before the resource was rejected (a dropped empty value may explain a reason). */
  normalizations: Normalization[];
}

/** An entry of the list whose stored match has another owner: reported, not written. */
export interface Conflict {
  source: string;
  resource: string;
  message: string;
}

export interface NormalizedResource {
  source: string;
  resource: string;
  normalizations: Normalization[];
}

export interface ImportReport {
  source: ImportSource;
  dryRun: boolean;
  /** Entries (or NDJSON lines) read from the file. */
  entries: number;
  /** Resources to load: an Epic entry holds two (its Endpoint and the Organization contained in it). */
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Loaded (created, updated or unchanged) resources that needed normalizing. */
  normalized: NormalizedResource[];
  rejected: Rejection[];
  /** What is wrong with the list without being a reason to reject an entry (quality-findings.ts). */
  findings: QualityFinding[];
  /**
   * How many findings of each kind, when `findings` keeps only examples of each (the NPPES import,
   * whose file may hold tens of thousands): absent, `findings` holds every one.
   */
  findingCounts?: Partial<Record<FindingKind, number>>;
  /** Entries whose stored match another owner holds (imported as a source). */
  conflicts: Conflict[];
  /** Entries this source had stored that its publication no longer lists: retired, or deleted. */
  retired: number;
  deleted: number;
  /** Entries no longer listed but left as they are: some entries were rejected (retire-missing.ts). */
  leftMissing?: number;
}

export function issueText(i: ImportIssue): string {
  return i.expression === '' ? i.message : `${i.expression}: ${i.message}`;
}

export function rejection(
  source: string,
  resource: string,
  issues: ImportIssue[],
  normalizations: Normalization[] = [],
): Rejection {
  return { source, resource, reasons: issues.map(issueText), issues, normalizations };
}

/** `Endpoint.payloadMimeType[1]` -> `Endpoint.payloadMimeType`: the element, whatever the position. */
export function elementOf(expression: string): string {
  return expression.replace(/\[\d+\]/g, '');
}

export interface NormalizationSummary {
  kind: NormalizationKind;
  element: string;
  count: number;
  /** The first occurrence, as an example. */
  example: { source: string; resource: string; normalization: Normalization };
}

/** Loaded resources' normalizations counted per kind and element, in order of first occurrence. */
export function summarizeNormalizations(report: ImportReport): NormalizationSummary[] {
  const byKey = new Map<string, NormalizationSummary>();
  for (const r of report.normalized) {
    for (const n of r.normalizations) {
      const element = elementOf(n.expression);
      const key = `${n.kind} ${element}`;
      const summary = byKey.get(key);
      if (summary) summary.count += 1;
      else
        byKey.set(key, {
          kind: n.kind,
          element,
          count: 1,
          example: { source: r.source, resource: r.resource, normalization: n },
        });
    }
  }
  return [...byKey.values()];
}

const SOURCE_NAMES: Readonly<Record<ImportSource, string>> = {
  'nppes-endpoints': 'the CMS NPPES endpoint file (one row per NPI and endpoint, 19 columns)',
  'lantern-list': 'an ONC Lantern EndpointSources list (URL, organization name, NPI, ZIP code per record)',
  hti1: 'a service-base-URL list (a Bundle of Organizations and Endpoints, 45 CFR 170.404(b)(2))',
  epic: 'an Epic endpoint list (Endpoints with a contained Organization)',
  cerner: 'a Cerner endpoint list (Organizations referencing Endpoints)',
  fhir: 'FHIR resources',
};

export function describeSource(source: ImportSource): string {
  return SOURCE_NAMES[source];
}

/** The counts, in one line: `530 loaded (530 created, 0 updated, 0 unchanged), 530 normalized, 0 rejected, of 530 …`. */
export function summaryLine(report: ImportReport): string {
  const loaded = report.created + report.updated + report.unchanged;
  const of =
    report.total === report.entries
      ? `of ${report.total}`
      : `of ${report.total} resources from ${report.entries} entries`;
  const source =
    report.conflicts.length + report.retired + report.deleted > 0
      ? `, ${report.conflicts.length} in conflict, ${report.retired} retired, ${report.deleted} deleted`
      : '';
  return `${loaded} loaded (${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged), ${report.normalized.length} normalized, ${report.rejected.length} rejected${source}, ${of}`;
}

/**
 * The report as the CLI prints it: each rejected resource with its reasons; what was normalized,
 * counted per kind and element with an example (with `verbose`, every normalization of every
 * resource); the summary line.
 */
export function reportLines(report: ImportReport, verbose = false): string[] {
  const lines = [`read as ${describeSource(report.source)}${report.dryRun ? ' (dry run)' : ''}`];
  for (const r of report.rejected) {
    lines.push(`rejected ${r.source} ${r.resource}: ${r.reasons.join('; ')}`);
    if (verbose)
      for (const n of r.normalizations) lines.push(`  (normalized before: ${n.expression}: ${n.detail})`);
  }
  for (const c of report.conflicts) lines.push(`conflict ${c.source} ${c.resource}: ${c.message}`);
  for (const s of summarizeNormalizations(report)) {
    const e = s.example;
    lines.push(
      `normalized: ${s.element} ×${s.count}: ${NORMALIZATION_KINDS[s.kind]} (e.g. ${e.source} ${e.resource}: ${e.normalization.detail})`,
    );
  }
  if (verbose)
    for (const r of report.normalized)
      for (const n of r.normalizations)
        lines.push(`normalized ${r.source} ${r.resource}: ${n.expression}: ${n.detail}`);
  for (const f of summarizeFindings(report.findings, 3, report.findingCounts)) {
    lines.push(`warning: ${f.description}: ×${f.count}`);
    for (const e of f.examples) lines.push(`  e.g. ${e.source} ${e.resource}: ${e.expression}: ${e.message}`);
  }
  lines.push(summaryLine(report));
  if (report.leftMissing)
    lines.push(
      `${report.leftMissing} entries of this source are no longer listed but were left as they are: entries were rejected, and a rejected entry cannot be told from one that disappeared`,
    );
  if (report.dryRun) lines.push('dry run: nothing was written');
  return lines;
}
