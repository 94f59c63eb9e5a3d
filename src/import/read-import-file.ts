/**
 * Reads what `fhir-directory import` and the seed loader load: a Bundle (any type), a single
 * resource, or NDJSON (one resource per line). Each item keeps where it came from for the report.
 */
import { readFile } from 'node:fs/promises';
import type { Resource } from '@medplum/fhirtypes';

export interface ImportItem {
  /** Where the item is in the file: `entry[3]` or `line 12`. */
  source: string;
  resource: unknown;
  fullUrl?: string;
}

export async function readImportFile(path: string): Promise<ImportItem[]> {
  return parseImportText(await readFile(path, 'utf8'), path.endsWith('.ndjson'));
}

export function parseImportText(text: string, ndjson = false): ImportItem[] {
  const trimmed = text.trimStart();
  if (!ndjson) {
    try {
      return itemsOf(JSON.parse(trimmed) as unknown);
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
  return items;
}

function itemsOf(value: unknown): ImportItem[] {
  if (typeof value !== 'object' || value === null)
    throw new Error('The file is neither a FHIR Bundle, a resource nor NDJSON');
  const resource = value as Resource;
  if (resource.resourceType !== 'Bundle') return [{ source: 'resource', resource }];
  return (resource.entry ?? []).map((entry, index) => {
    const item: ImportItem = { source: `entry[${index}]`, resource: entry.resource };
    if (entry.fullUrl) item.fullUrl = entry.fullUrl;
    return item;
  });
}
