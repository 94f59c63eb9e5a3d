/**
 * One pass of a follower over one source: for each followed type, the source's changes since the
 * checkpoint (type-level `_history?_since=`, when its CapabilityStatement offers history-type), or a
 * full comparison (search paging, then the entries it no longer lists are deleted here).
 *
 * History (FHIR http.html#history) lists versions newest first, so in one pass the first version met
 * of an entry is its latest: older ones met later in the pass are skipped. The checkpoint is the
 * `_since` of the next pass, the newest lastUpdated the pass met (`_since` is inclusive, so the
 * versions at exactly that instant come again; writing identical content is a no-op, so they change
 * nothing). It moves only in the transaction of the pass's last page. A pass cut short (a crash, a
 * kill, a malformed page, an error after the retries) leaves it where it was: the next pass reads the
 * same window again, and the pages already applied change nothing. It does not resume from a `next`
 * link: history pages being newest first, an older version read after a resume would overwrite the
 * newer one applied before it.
 *
 * Search paging follows `next` links; a source that gives none pages by `_start` (Carequality), until
 * a short or empty page. A page whose entries were all met already (a source that repeats a page)
 * ends the paging as malformed, so a full comparison never deletes on a partial read.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Logger } from '../logger';
import type { WriteSession } from '../storage/resource-store';
import {
  applyChanges,
  emptyCounts,
  identityConflicts,
  isProblem,
  planChange,
  type ApplyDeps,
  type PlannedChange,
  type SyncCounts,
  type SyncProblem,
} from './apply-changes';
import {
  MalformedPage,
  instant,
  latestPerEntry,
  offersHistory,
  parseHistoryPage,
  parseSearchPage,
  type SourceEntry,
  type SourcePage,
} from './source-pages';
import { SourceError, type SourceClient } from './source-client';
import { localId } from './local-identity';
import type { SyncType } from './source-settings';

/** Where each type's pass left off (kept in the sources registry, moved inside page transactions). */
export interface SyncCheckpoint {
  types: Partial<Record<SyncType, { since?: string }>>;
}

export interface CheckpointBook {
  read(): Promise<SyncCheckpoint>;
  /** Records `checkpoint` inside `session` (the page's own transaction). */
  write(session: WriteSession, checkpoint: SyncCheckpoint): Promise<void>;
}

export type TypeMode = 'history' | 'full-comparison';

export interface TypeSummary extends SyncCounts {
  type: SyncType;
  mode: TypeMode;
  pages: number;
  /** The checkpoint after the pass (history). */
  since?: string;
  /** Why the type's pass stopped short, when it did. */
  error?: string;
}

export interface PassSummary extends SyncCounts {
  source: string;
  startedAt: string;
  finishedAt: string;
  types: TypeSummary[];
  /** The first problems met (rejections and conflicts), each with its reason. */
  problems: SyncProblem[];
  /** True when every type's pass went to its end. */
  complete: boolean;
}

export interface FollowDeps extends ApplyDeps {
  client: SourceClient;
  types: SyncType[];
  checkpoints: CheckpointBook;
  log?: Logger;
  /** Entries asked per page (`_count`); 1000 by default (Carequality's ceiling). */
  pageSize?: number;
  onProgress?: (progress: { type: SyncType; pages: number; counts: SyncCounts }) => void;
  /** Stops the pass between two pages (the server shutting down). */
  signal?: AbortSignal;
}

/** The pass was asked to stop (FollowDeps.signal) between two pages. */
export class PassStopped extends Error {
  constructor() {
    super('stopped before its end (the process is shutting down)');
    this.name = 'PassStopped';
  }
}

function checkStopped(deps: FollowDeps): void {
  if (deps.signal?.aborted) throw new PassStopped();
}

const MAX_PROBLEMS = 100;
const COUNT_KEYS = ['created', 'updated', 'deleted', 'unchanged', 'rejected', 'conflicts'] as const;

function add(into: SyncCounts, from: SyncCounts): void {
  for (const k of COUNT_KEYS) into[k] += from[k];
}

export async function followOnce(deps: FollowDeps): Promise<PassSummary> {
  const startedAt = new Date().toISOString();
  const summary: PassSummary = {
    source: deps.source.name,
    startedAt,
    finishedAt: startedAt,
    types: [],
    problems: [],
    complete: true,
    ...emptyCounts(),
  };
  let capabilities: unknown;
  try {
    capabilities = await deps.client.getJson('metadata');
  } catch (err) {
    // Without a CapabilityStatement nothing says history is offered: a full comparison is always right.
    deps.log?.warn(
      { source: deps.source.name, err: String(err) },
      'sync: no CapabilityStatement; comparing in full',
    );
  }
  // Entries this pass keeps, over all types (a full comparison of Endpoints keeps those split out of Organizations).
  const kept = new Set<string>();
  for (const type of deps.types) {
    const mode: TypeMode = offersHistory(capabilities, type) ? 'history' : 'full-comparison';
    const typeSummary: TypeSummary = { type, mode, pages: 0, ...emptyCounts() };
    summary.types.push(typeSummary);
    const record = (counts: SyncCounts, problems: SyncProblem[]): void => {
      add(typeSummary, counts);
      add(summary, counts);
      summary.problems.push(...problems.slice(0, MAX_PROBLEMS - summary.problems.length));
      for (const p of problems) deps.log?.warn({ source: deps.source.name, ...p }, `sync: ${p.kind}`);
      deps.onProgress?.({ type, pages: typeSummary.pages, counts: summary });
    };
    try {
      if (mode === 'history') await followHistory(deps, type, typeSummary, record);
      else await compareInFull(deps, type, typeSummary, kept, record);
    } catch (err) {
      summary.complete = false;
      typeSummary.error =
        err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
      deps.log?.error({ source: deps.source.name, type, err: typeSummary.error }, 'sync: pass stopped');
      if (!(err instanceof MalformedPage || err instanceof SourceError || err instanceof PassStopped))
        throw err;
      if (err instanceof PassStopped) break;
    }
  }
  summary.finishedAt = new Date().toISOString();
  return summary;
}

/** The counts of a page with the problems found while planning it (rejections, identity conflicts) added. */
function withPlanned(counts: SyncCounts, planned: SyncProblem[]): SyncCounts {
  const total = { ...counts };
  for (const p of planned) total[p.kind === 'conflict' ? 'conflicts' : 'rejected'] += 1;
  return total;
}

type Record_ = (counts: SyncCounts, problems: SyncProblem[]) => void;

/** Plans a page's entries (those not met before in the pass), rejecting and finding conflicts before the lock. */
async function planPage(
  deps: FollowDeps,
  entries: SourceEntry[],
): Promise<{ changes: PlannedChange[]; problems: SyncProblem[] }> {
  const planned = entries.map((e) => planChange(deps, e));
  const problems = planned.filter(isProblem);
  let changes = planned.filter((p): p is PlannedChange => !isProblem(p));
  const clashes = await identityConflicts(deps, changes);
  problems.push(...clashes.values());
  changes = changes.filter((c) => !clashes.has(c));
  return { changes, problems };
}

async function followHistory(
  deps: FollowDeps,
  type: SyncType,
  summary: TypeSummary,
  record: Record_,
): Promise<void> {
  const checkpoint = await deps.checkpoints.read();
  const since = checkpoint.types[type]?.since;
  const count = deps.pageSize ?? 1000;
  let url: string | undefined =
    `${type}/_history?_count=${count}${since ? `&_since=${encodeURIComponent(since)}` : ''}`;
  const met = new Set<string>();
  let newest = since;
  while (url !== undefined) {
    checkStopped(deps);
    const page: SourcePage = parseHistoryPage(await deps.client.getJson(url), type);
    summary.pages += 1;
    for (const e of page.entries)
      if (e.lastUpdated && instant(e.lastUpdated) > instant(newest)) newest = e.lastUpdated;
    const fresh = latestPerEntry(page.entries, 'newest-first').filter((e) => !met.has(e.id));
    for (const e of fresh) met.add(e.id);
    const { changes, problems } = await planPage(deps, fresh);
    const last = page.next === undefined;
    const next: SyncCheckpoint = { types: { ...checkpoint.types, [type]: newest ? { since: newest } : {} } };
    const result = await applyChanges(
      deps,
      changes,
      last ? (session) => deps.checkpoints.write(session, next) : undefined,
    );
    record(withPlanned(result.counts, problems), [...problems, ...result.problems]);
    url = page.next;
  }
  if (newest) summary.since = newest;
}

async function compareInFull(
  deps: FollowDeps,
  type: SyncType,
  summary: TypeSummary,
  kept: Set<string>,
  record: Record_,
): Promise<void> {
  const count = deps.pageSize ?? 1000;
  const met = new Set<string>();
  let url: string | undefined = `${type}?_count=${count}&_sort=_id`;
  let offset = 0;
  while (url !== undefined) {
    checkStopped(deps);
    const page = parseSearchPage(await deps.client.getJson(url), type);
    summary.pages += 1;
    const entries = latestPerEntry(page.entries, 'in-order');
    if (entries.length > 0 && entries.every((e) => met.has(e.id)))
      throw new MalformedPage(`page ${summary.pages} repeats entries already read (${url}): paging stopped`);
    const fresh = entries.filter((e) => !met.has(e.id));
    for (const e of fresh) met.add(e.id);
    offset += page.entries.length;
    const { changes, problems } = await planPage(deps, fresh);
    for (const c of changes) for (const id of c.keeps) kept.add(id);
    // A rejected or conflicting entry is still listed by the source: never deleted here for it.
    for (const e of fresh) kept.add(localId(deps.source.name, e.id));
    const result = await applyChanges(deps, changes);
    record(withPlanned(result.counts, problems), [...problems, ...result.problems]);
    if (page.next !== undefined) url = page.next;
    else if (page.entries.length >= count) url = `${type}?_count=${count}&_start=${offset}`;
    else url = undefined;
  }
  checkStopped(deps);
  const gone = await entriesGone(deps, type, kept);
  const deletions = gone.map((id) => ({
    label: `${type}/${id} (no longer listed by the source)`,
    type,
    id,
    options: {},
    keeps: [],
  }));
  const checkpoint = await deps.checkpoints.read();
  const result = await applyChanges(deps, deletions, (session) =>
    deps.checkpoints.write(session, { types: { ...checkpoint.types, [type]: {} } }),
  );
  record(result.counts, result.problems);
}

/** The local ids of this source's current entries of `type` that the pass did not keep. */
async function entriesGone(deps: FollowDeps, type: SyncType, kept: Set<string>): Promise<string[]> {
  const prefix = `${deps.source.name}.`;
  const gone: string[] = [];
  let after: { keys: (string | number)[]; id: string } | undefined;
  do {
    const page = await deps.ctx.store.search({
      type,
      conditions: [],
      sort: [],
      count: 1000,
      withTotal: false,
      ...(after ? { after } : {}),
    });
    for (const r of page.records) {
      if (!r.id.startsWith(prefix) || kept.has(r.id) || r.content === undefined) continue;
      if (deps.isOwn(JSON.parse(r.content) as Resource)) gone.push(r.id);
    }
    after = page.next;
  } while (after !== undefined);
  return gone;
}
