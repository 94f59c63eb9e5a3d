/**
 * Bundles are written as JSON text around the stored resource text, so a page of 1,000 resources
 * is never parsed and re-serialised on its way out.
 */
import type { Bundle, BundleEntry, BundleLink, OperationOutcome } from '@medplum/fhirtypes';

export interface RawEntry {
  /** The entry without its resource. */
  entry: Omit<BundleEntry, 'resource'>;
  /** The resource's JSON text, when the entry has one. */
  resourceJson?: string;
}

export interface BundleFrame {
  type: Bundle['type'];
  total?: number;
  link?: BundleLink[];
}

export function bundleJson(
  frame: BundleFrame,
  entries: RawEntry[],
  timestamp = new Date().toISOString(),
): string {
  const head: Bundle = { resourceType: 'Bundle', type: frame.type, timestamp };
  if (frame.total !== undefined) head.total = frame.total;
  if (frame.link) head.link = frame.link;
  const parts = entries.map(({ entry, resourceJson }) => {
    const { fullUrl, ...rest } = entry;
    const fields: string[] = [];
    if (fullUrl !== undefined) fields.push(`"fullUrl":${JSON.stringify(fullUrl)}`);
    if (resourceJson !== undefined) fields.push(`"resource":${resourceJson}`);
    for (const [key, value] of Object.entries(rest)) {
      if (value !== undefined) fields.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    return `{${fields.join(',')}}`;
  });
  const headJson = JSON.stringify(head);
  // FHIR json.html: arrays are never empty, so a Bundle without entries has no `entry`.
  return parts.length === 0 ? headJson : `${headJson.slice(0, -1)},"entry":[${parts.join(',')}]}`;
}

export function outcomeEntry(outcome: OperationOutcome): RawEntry {
  return { entry: { search: { mode: 'outcome' } }, resourceJson: JSON.stringify(outcome) };
}

/** Builds a link URL on our base: the same parameters, with overrides. */
export function pageLink(
  base: string,
  query: URLSearchParams,
  overrides: Record<string, string | undefined>,
): string {
  const params = new URLSearchParams(query);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  const text = params.toString();
  return text ? `${base}?${text}` : base;
}
