/**
 * The discovery summary an Endpoint carries (profiles/StructureDefinition-endpoint-discovery-summary):
 * what the newest check found and what the last 30 days of checks add up to, as one complex
 * extension the custom SearchParameters index and the web page shows.
 *
 * It is written only when it changes, so followers and caches are not churned by a check that
 * found nothing new (issue 13). Its values are therefore kept coarse where a check would otherwise
 * always change them: availability to two decimals, the median response time to the next 100 ms,
 * and `lastChecked` moves only with another change, or when it is REFRESH_DAYS old (a stable
 * endpoint's Endpoint gets one new version a week, not one per check; the time of every check is in
 * the checks table). `downSince` is the first failed check after the last success: it does not move
 * while the endpoint stays down, so "down for a week" is `down-since=le<a week ago>`.
 */
import type { Extension } from '@medplum/fhirtypes';
import type { CheckStatistics } from '../storage/discovery-store';
import type { ProbeResult } from './probe-endpoint';

// Directory-owned elements: clients may not set them (src/fhir/directory-owned.ts).
export { CAPABILITY_STATEMENT_URL, SUMMARY_URL } from '../fhir/directory-owned';
import { SUMMARY_URL } from '../fhir/directory-owned';

/** Days over which availability and the median response time are computed. */
export const SUMMARY_DAYS = 30;
/** A summary that did not otherwise change is written again (with a new lastChecked) after this many days. */
export const REFRESH_DAYS = 6;

type Json = Record<string, unknown>;

export interface SummaryInput {
  probe: ProbeResult;
  /** When the check was made (ISO 8601). */
  checkedAt: string;
  /** The endpoint's checks of the last SUMMARY_DAYS days, this one included. */
  statistics: CheckStatistics;
  /** The summary the Endpoint carries now, if any. */
  previous?: Extension;
}

/** The summary to store: the previous one when nothing but lastChecked would change and it is recent. */
export function summarize(input: SummaryInput): Extension {
  const { probe, checkedAt, statistics, previous } = input;
  const status = probe.check.status;
  const fresh = summaryExtension(probe, checkedAt, statistics, downSince(status, checkedAt, previous));
  if (!previous) return fresh;
  const previousChecked = part(previous, 'lastChecked')?.valueDateTime;
  const sameOtherwise =
    JSON.stringify(withoutLastChecked(previous)) === JSON.stringify(withoutLastChecked(fresh));
  const age = previousChecked ? Date.parse(checkedAt) - Date.parse(previousChecked) : Infinity;
  return sameOtherwise && age < REFRESH_DAYS * 86_400_000 ? previous : fresh;
}

function downSince(status: string, checkedAt: string, previous?: Extension): string | undefined {
  if (status === 'ok') return undefined;
  return part(previous, 'downSince')?.valueDateTime ?? checkedAt;
}

function summaryExtension(
  probe: ProbeResult,
  checkedAt: string,
  statistics: CheckStatistics,
  down: string | undefined,
): Extension {
  const { check, statement, smart, udap } = probe;
  const parts: Extension[] = [
    { url: 'lastChecked', valueDateTime: checkedAt },
    { url: 'status', valueCode: check.status },
  ];
  if (down) parts.push({ url: 'downSince', valueDateTime: down });
  if (statistics.checks > 0)
    parts.push({
      url: 'availability',
      valueDecimal: Math.round((statistics.successful / statistics.checks) * 100) / 100,
    });
  if (statistics.medianResponseMs !== undefined)
    parts.push({
      url: 'medianResponseTime',
      valueQuantity: {
        value: Math.max(100, Math.ceil(statistics.medianResponseMs / 100) * 100),
        unit: 'ms',
        system: 'http://unitsofmeasure.org',
        code: 'ms',
      },
    });
  if (check.status === 'ok' && check.mimeType) parts.push({ url: 'mimeType', valueCode: check.mimeType });
  if (check.tlsVersion) parts.push({ url: 'tlsVersion', valueString: check.tlsVersion });
  if (check.certificateExpires)
    parts.push({ url: 'certificateExpires', valueDateTime: check.certificateExpires });
  if (check.error) parts.push({ url: 'error', valueString: check.error.slice(0, 1000) });
  if (statement) parts.push(...statementParts(statement));
  // What `[base]/$versions` lists (`4.0`, `4.0.1`...), when the statement offers the operation.
  for (const version of check.versions ?? []) parts.push({ url: 'supportedVersion', valueCode: version });
  // SMART and UDAP stand on their own fetches, whatever /metadata answered (probe-endpoint.ts).
  for (const capability of stringsIn(smart?.capabilities))
    parts.push({ url: 'smartCapability', valueCode: capability });
  if (check.udapHttpStatus !== undefined || udap !== undefined)
    parts.push({
      url: 'udap',
      valueBoolean: udap !== undefined && Array.isArray(udap.udap_versions_supported),
    });
  return { url: SUMMARY_URL, extension: parts };
}

/** fhirVersion, software, and the resource types and profiles the statement's server REST part supports. */
function statementParts(statement: Json): Extension[] {
  const parts: Extension[] = [];
  if (typeof statement.fhirVersion === 'string')
    parts.push({ url: 'fhirVersion', valueCode: statement.fhirVersion });
  const software = isObject(statement.software) ? statement.software : undefined;
  if (typeof software?.name === 'string') parts.push({ url: 'softwareName', valueString: software.name });
  if (typeof software?.version === 'string')
    parts.push({ url: 'softwareVersion', valueString: software.version });
  const resources = new Set<string>();
  const profiles = new Set<string>();
  const rests = Array.isArray(statement.rest) ? statement.rest.filter(isObject) : [];
  for (const rest of rests.filter((r) => r.mode === 'server')) {
    for (const resource of Array.isArray(rest.resource) ? rest.resource.filter(isObject) : []) {
      if (typeof resource.type === 'string') resources.add(resource.type);
      if (typeof resource.profile === 'string') profiles.add(resource.profile);
      // DSTU2's Conformance names the profile as a Reference.
      if (isObject(resource.profile) && typeof resource.profile.reference === 'string')
        profiles.add(resource.profile.reference);
      for (const p of stringsIn(resource.supportedProfile)) profiles.add(p);
    }
  }
  for (const type of [...resources].sort()) parts.push({ url: 'supportedResource', valueCode: type });
  for (const p of [...profiles].sort()) parts.push({ url: 'supportedProfile', valueCanonical: p });
  return parts;
}

export function part(summary: Extension | undefined, name: string): Extension | undefined {
  return summary?.extension?.find((e) => e.url === name);
}

function withoutLastChecked(summary: Extension): Extension {
  return { ...summary, extension: (summary.extension ?? []).filter((e) => e.url !== 'lastChecked') };
}

function stringsIn(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
