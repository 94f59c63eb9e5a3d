/**
 * A source's reach into the directory, as adoption (adopt-entries.ts) and retirement
 * (retire-missing.ts) both walk it: the Organizations carrying the identifier system the source's
 * imports find Organizations by, and the Endpoints they manage; and writes to them in short
 * transactions, each recording the source's Provenance.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import type { WriteActor } from '../fhir/provenance';
import { writeRecorded } from '../fhir/recorded-write';
import type { WriteSession } from '../storage/resource-store';
import { escapeValue, searchAll } from './vendors/search-all';

export type SourceEntry = Resource & { id: string };

/** At most this many writes per transaction, so that no adoption or retirement holds the write lock for long. */
const BATCH = 200;

/**
 * The Organizations with an identifier of `system` (`system|…`: the same business identity) that
 * `keep` accepts, then the Endpoints each of them manages that `keep` accepts, read in `session`.
 */
export async function entriesOfSystem(
  ctx: Pick<FhirContext, 'baseUrl' | 'limits'>,
  session: WriteSession,
  system: string,
  keep: (entry: Resource) => boolean,
): Promise<SourceEntry[]> {
  const find = async (type: string, params: Record<string, string>): Promise<SourceEntry[]> =>
    (await searchAll(session, type, new URLSearchParams(params), ctx.baseUrl, ctx.limits)).filter(keep);
  const organizations = await find('Organization', { identifier: `${escapeValue(system)}|` });
  const endpoints: SourceEntry[] = [];
  for (const org of organizations)
    endpoints.push(...(await find('Endpoint', { organization: `Organization/${org.id}` })));
  return [...organizations, ...endpoints];
}

/** Runs `write` on each entry in order, BATCH entries a transaction, each recording `actor`. */
export async function writeInBatches(
  ctx: FhirContext,
  actor: WriteActor,
  entries: readonly SourceEntry[],
  write: (session: WriteSession, entry: SourceEntry) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < entries.length; start += BATCH) {
    const batch = entries.slice(start, start + BATCH);
    await writeRecorded(ctx, actor, async (session) => {
      for (const entry of batch) await write(session, entry);
    });
  }
}
