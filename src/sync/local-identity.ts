/**
 * How a followed entry is named here. Local ids are derived from the source's name and the source's
 * own id, deterministically, so every pass (and every process) gives a source entry the same local
 * id, and references between copied entries can be rewritten without a lookup:
 *
 *   `<source name>.<source id>`                  when that is a valid FHIR id (at most 64 characters);
 *   `<source name>.h<first 40 hex of sha256(source id)>`  otherwise.
 *
 * A source name is a slug without dots, so the first dot ends it: two sources never derive the same
 * id, and no source derives an id a client could choose without a dot at that place.
 *
 * References inside a copied resource to Organization or Endpoint entries of the source (relative,
 * `Organization/x`, or absolute on the source's base, `https://src/fhir/Organization/x`, with or
 * without `/_history/n`) become `Organization/<local id>`; contained (`#x`) and other references are
 * kept as they are. meta.versionId, meta.lastUpdated and meta.source are the source's own: the first
 * two are dropped (the write stamps ours), meta.source becomes the source's base URL (its uri here).
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { isValidId } from '../fhir/resource-types';
import { SYNC_TYPES } from './source-settings';

export function localId(sourceName: string, sourceId: string): string {
  const plain = `${sourceName}.${sourceId}`;
  if (isValidId(plain)) return plain;
  return `${sourceName}.h${createHash('sha256').update(sourceId).digest('hex').slice(0, 40)}`;
}

const FOLLOWED = SYNC_TYPES.join('|');

/** The resource as stored here: our id, references rewritten, the source's server meta dropped. */
export function toLocal<T extends Resource>(
  resource: T,
  sourceName: string,
  sourceBase: string,
): T & { id: string } {
  const pattern = new RegExp(
    `^(?:${escapeRegExp(sourceBase)}/)?(${FOLLOWED})/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`,
  );
  const rewritten = rewrite(resource, (reference) => {
    const m = pattern.exec(reference);
    return m ? `${m[1] as string}/${localId(sourceName, m[2] as string)}` : reference;
  }) as T;
  const copy = {
    ...rewritten,
    id: localId(sourceName, String(resource.id)),
    meta: stamped(rewritten.meta, sourceBase),
  } as T & { id: string };
  // Contained Endpoints become entries of the source too (contained-endpoints.ts keeps their meta).
  const contained = (copy as { contained?: Resource[] }).contained;
  if (contained)
    (copy as { contained?: Resource[] }).contained = contained.map((c) =>
      c.resourceType === 'Endpoint' ? { ...c, meta: stamped(c.meta, sourceBase) } : c,
    );
  return copy;
}

/**
 * The source's meta without its server's own elements, stamped with our `meta.source` as the write
 * seam stamps it: the planned version then compares equal to the stored one when nothing changed.
 */
function stamped(meta: Resource['meta'], uri: string): NonNullable<Resource['meta']> {
  const { versionId: _v, lastUpdated: _l, source: _s, ...rest } = meta ?? {};
  return { ...rest, source: uri };
}

function rewrite(value: unknown, map: (reference: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, map));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>))
    copy[key] = key === 'reference' && typeof child === 'string' ? map(child) : rewrite(child, map);
  return copy;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
