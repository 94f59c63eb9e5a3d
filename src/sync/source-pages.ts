/**
 * Reads one page from a source: a `history` Bundle (type-level `_history`) or a `searchset` Bundle,
 * as entries of one followed type. A page that is not what it says (not a Bundle, an entry of another
 * type, a resource without a valid id, a history entry that names no resource) is malformed: the
 * whole page is refused with the reason, and the checkpoint does not move past it.
 */
import type { Bundle, BundleEntry, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { isValidId } from '../fhir/resource-types';
import type { SyncType } from './source-settings';

export interface SourceEntry {
  type: SyncType;
  /** The source's id. */
  id: string;
  /** The version's content; undefined for a deletion. */
  resource?: Resource;
  /** When the source wrote this version (meta.lastUpdated, or the history entry's response.lastModified). */
  lastUpdated?: string;
}

export interface SourcePage {
  entries: SourceEntry[];
  /** The `next` link, when the source gives one. */
  next?: string;
}

export class MalformedPage extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedPage';
  }
}

function asBundle(body: unknown, kind: 'history' | 'searchset'): Bundle {
  const bundle = body as Partial<Bundle> | undefined;
  if (typeof bundle !== 'object' || bundle === null || bundle.resourceType !== 'Bundle')
    throw new MalformedPage(
      `the answer is not a Bundle (resourceType ${JSON.stringify(bundle?.resourceType)})`,
    );
  if (bundle.type !== undefined && bundle.type !== kind)
    throw new MalformedPage(`the Bundle is a ${String(bundle.type)}, not a ${kind}`);
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    throw new MalformedPage('Bundle.entry is not a list');
  if (bundle.link !== undefined && !Array.isArray(bundle.link))
    throw new MalformedPage('Bundle.link is not a list');
  return bundle as Bundle;
}

function nextLink(bundle: Bundle): string | undefined {
  const url = bundle.link?.find((l) => l.relation === 'next')?.url;
  return typeof url === 'string' && url !== '' ? url : undefined;
}

function resourceOf(entry: BundleEntry, type: SyncType, at: string): Resource & { id: string } {
  const resource = entry.resource as Partial<Resource> | undefined;
  if (typeof resource !== 'object' || resource === null) throw new MalformedPage(`${at}: no resource`);
  if (resource.resourceType !== type)
    throw new MalformedPage(`${at}: a ${String(resource.resourceType)} where ${type} entries were asked for`);
  if (typeof resource.id !== 'string' || !isValidId(resource.id))
    throw new MalformedPage(`${at}: ${type} without a valid id (${JSON.stringify(resource.id)})`);
  return resource as Resource & { id: string };
}

/** The id a history entry's request URL (`Organization/x`, `Organization/x/_history/2`) or fullUrl names. */
function deletedId(entry: BundleEntry, type: SyncType): string | undefined {
  for (const url of [entry.request?.url, entry.fullUrl]) {
    const m =
      typeof url === 'string' ? new RegExp(`(?:^|/)${type}/([^/?#]+)(?:/_history/[^/]+)?$`).exec(url) : null;
    if (m && isValidId(m[1] as string)) return m[1];
  }
  return undefined;
}

/** A type-level history page, entries as the source lists them (newest first, FHIR http.html#history). */
export function parseHistoryPage(body: unknown, type: SyncType): SourcePage {
  const bundle = asBundle(body, 'history');
  const entries = (bundle.entry ?? []).map((entry, index): SourceEntry => {
    const at = `entry[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw new MalformedPage(`${at} is not an object`);
    const lastModified = entry.response?.lastModified;
    if (
      entry.request?.method === 'DELETE' ||
      (entry.resource === undefined && entry.response?.status?.startsWith('204'))
    ) {
      const id = deletedId(entry, type);
      if (id === undefined) throw new MalformedPage(`${at}: a deletion that names no ${type}`);
      return { type, id, ...(lastModified ? { lastUpdated: lastModified } : {}) };
    }
    const resource = resourceOf(entry, type, at);
    const lastUpdated = resource.meta?.lastUpdated ?? lastModified;
    return { type, id: resource.id, resource, ...(lastUpdated ? { lastUpdated } : {}) };
  });
  const next = nextLink(bundle);
  return { entries, ...(next ? { next } : {}) };
}

/** A search page: its matches (included resources and OperationOutcomes are not entries of the type). */
export function parseSearchPage(body: unknown, type: SyncType): SourcePage {
  const bundle = asBundle(body, 'searchset');
  const entries: SourceEntry[] = [];
  (bundle.entry ?? []).forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null)
      throw new MalformedPage(`entry[${index}] is not an object`);
    if (entry.search?.mode === 'include' || entry.search?.mode === 'outcome') return;
    if (entry.resource?.resourceType === 'OperationOutcome') return;
    const resource = resourceOf(entry, type, `entry[${index}]`);
    const lastUpdated = resource.meta?.lastUpdated;
    entries.push({ type, id: resource.id, resource, ...(lastUpdated ? { lastUpdated } : {}) });
  });
  const next = nextLink(bundle);
  return { entries, ...(next ? { next } : {}) };
}

/** Whether the source's CapabilityStatement offers type-level history for `type`. */
export function offersHistory(capabilities: unknown, type: SyncType): boolean {
  const statement = capabilities as Partial<CapabilityStatement> | undefined;
  if (statement?.resourceType !== 'CapabilityStatement' || !Array.isArray(statement.rest)) return false;
  return statement.rest.some(
    (rest) =>
      rest.mode === 'server' &&
      (rest.resource ?? []).some(
        (r) => r.type === type && (r.interaction ?? []).some((i) => i.code === 'history-type'),
      ),
  );
}

/**
 * One change per entry: of several versions of one entry in a page, the newest (by lastUpdated;
 * among equals, the first in a history page, which lists newest first, and the last in a search page).
 */
export function latestPerEntry(entries: SourceEntry[], order: 'newest-first' | 'in-order'): SourceEntry[] {
  const chosen = new Map<string, { entry: SourceEntry; index: number }>();
  entries.forEach((entry, index) => {
    const key = `${entry.type}/${entry.id}`;
    const held = chosen.get(key);
    if (!held) {
      chosen.set(key, { entry, index });
      return;
    }
    const a = instant(held.entry.lastUpdated);
    const b = instant(entry.lastUpdated);
    const newer = b > a || (b === a && order === 'in-order');
    if (newer) chosen.set(key, { entry, index: held.index });
  });
  return [...chosen.values()].sort((x, y) => x.index - y.index).map((c) => c.entry);
}

/** An instant as milliseconds, for comparing ones written with other precisions or offsets; -Infinity when absent. */
export function instant(text: string | undefined): number {
  const ms = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(ms) ? -Infinity : ms;
}
