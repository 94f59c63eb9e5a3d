/**
 * Reads what `fhir-directory import` and the seed loader load: a Bundle (any type), a single
 * resource, or NDJSON (one resource per line). Each item keeps where it came from for the report.
 * A top-level object with an `entry` array and no `resourceType` (eClinicalWorks publishes its
 * service-base-URL list so) is read as the Bundle it means to be; `bundle` says what it lacked.
 */
import { readFile } from 'node:fs/promises';
import { isLanternList, type LanternRecord } from './lantern/lantern-items';

export interface ImportItem {
  /** Where the item is in the file: `entry[3]` or `line 12`. */
  source: string;
  resource: unknown;
  fullUrl?: string;
}

/** The Bundle around the items, as written (for the checks of the file as a whole). */
export interface BundleShape {
  resourceType?: unknown;
  type?: unknown;
  total?: unknown;
  /** How many entries have no fullUrl. */
  withoutFullUrl: number;
}

export interface ImportDocument {
  items: ImportItem[];
  /** A Lantern EndpointSources list's records (lantern/lantern-items.ts): `items` is then empty. */
  lantern?: LanternRecord[];
  /** Absent when the file is NDJSON or a single resource. */
  bundle?: BundleShape;
}

export async function readImportFile(path: string): Promise<ImportItem[]> {
  return (await readImportDocument(path)).items;
}

export async function readImportDocument(path: string): Promise<ImportDocument> {
  return parseImportDocument(await readFile(path, 'utf8'), path.endsWith('.ndjson'));
}

export function parseImportText(text: string, ndjson = false): ImportItem[] {
  return parseImportDocument(text, ndjson).items;
}

export function parseImportDocument(text: string, ndjson = false): ImportDocument {
  const trimmed = text.trimStart();
  if (!ndjson) {
    try {
      return documentOf(JSON.parse(trimmed) as unknown);
    } catch (err) {
      // A file of several JSON lines is NDJSON even without the extension.
      if (!(err instanceof SyntaxError) || !trimmed.includes('\n')) throw err;
    }
  }
  const items: ImportItem[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      items.push({ source: `line ${index + 1}`, resource: JSON.parse(line) as unknown });
    } catch (err) {
      items.push({ source: `line ${index + 1}`, resource: { parseError: (err as Error).message } });
    }
  }
  return { items };
}

function documentOf(value: unknown): ImportDocument {
  if (typeof value !== 'object' || value === null)
    throw new Error('The file is neither a FHIR Bundle, a resource nor NDJSON');
  if (isLanternList(value)) return { items: [], lantern: value.Endpoints };
  const resource = value as { resourceType?: unknown; entry?: unknown };
  const bundleLike =
    resource.resourceType === 'Bundle' ||
    (resource.resourceType === undefined && Array.isArray(resource.entry));
  if (!bundleLike) return { items: [{ source: 'resource', resource: resource }] };
  const entries = Array.isArray(resource.entry) ? (resource.entry as unknown[]) : [];
  let withoutFullUrl = 0;
  const items = entries.map((raw, index) => {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as {
      resource?: unknown;
      fullUrl?: unknown;
    };
    const item: ImportItem = { source: `entry[${index}]`, resource: entry.resource };
    if (typeof entry.fullUrl === 'string' && entry.fullUrl !== '') item.fullUrl = entry.fullUrl;
    else withoutFullUrl += 1;
    return item;
  });
  const { type, total } = resource as { type?: unknown; total?: unknown };
  return { items, bundle: { resourceType: resource.resourceType, type, total, withoutFullUrl } };
}
