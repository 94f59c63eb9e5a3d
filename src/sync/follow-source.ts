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
import { eventLoopYielder } from '../fhir/event-loop-yield';
import type { FhirError } from '../fhir/errors';
import {
  applyChanges,
  emptyCounts,
  identityConflicts,
  isProblem,
  localEntry,
  planChange,
  type ApplyDeps,
  type LocalEntry,
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
import {
  ExportFailed,
  SourceExport,
  exportLevel,
  exportPages,
  type ExportOptions,
  type ExportPage,
} from './source-export';
import { localId } from './local-identity';
import { DEFAULT_OVERLAP_MS, type SyncType } from './source-settings';

/** Where each type's pass left off (kept in the sources registry, moved inside page transactions). */
export interface SyncCheckpoint {
  types: Partial<Record<SyncType, TypeCheckpoint>>;
}

export interface TypeCheckpoint {
  /** The `_since` of the next pass (before the overlap margin is taken off). */
  since?: string;
  /** The newest lastUpdated met from the source so far: its newest entry now is never older, unless it rewound. */
  newest?: string;
  /**
   * `export` when `since` is an export's transactionTime and no entry was met (it may be later than
   * any entry's lastUpdated); absent: `newest`, or else `since`, is the newest entry met.
   */
  by?: 'export';
}

export interface CheckpointBook {
  read(): Promise<SyncCheckpoint>;
  /** Records `checkpoint` inside `session` (the page's own transaction). */
  write(session: WriteSession, checkpoint: SyncCheckpoint): Promise<void>;
}

export type TypeMode = 'history' | 'full-comparison' | 'export';

export interface TypeSummary extends SyncCounts {
  type: SyncType;
  mode: TypeMode;
  pages: number;
  /** The checkpoint after the pass (history). */
  since?: string;
  /** Why the type's pass stopped short, when it did. */
  error?: string;
  /** Why the source's `$export` was not used after all (the mode is then the fallback's). */
  exportFailed?: string;
  /** Why the source was found to have rewound (the mode is then a full comparison). */
  rewound?: string;
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
  /** `_since` is the checkpoint less this much (sources committing out of timestamp order); DEFAULT_OVERLAP_MS when absent. */
  overlapMs?: number;
  /** Whether the source's `$export` may be used (true when absent). */
  useExport?: boolean;
  /** Caps on waiting for the source's export. */
  exportOptions?: Omit<ExportOptions, 'signal'>;
}

/** The source went back in time (restored from a backup, or its clock did): a full comparison follows. */
export class SourceRewound extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SourceRewound';
  }
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
  const typeSummaries = new Map<SyncType, TypeSummary>();
  const records = new Map<SyncType, Record_>();
  for (const type of deps.types) {
    const mode: TypeMode = offersHistory(capabilities, type) ? 'history' : 'full-comparison';
    const typeSummary: TypeSummary = { type, mode, pages: 0, ...emptyCounts() };
    summary.types.push(typeSummary);
    typeSummaries.set(type, typeSummary);
    records.set(type, (counts: SyncCounts, problems: SyncProblem[]): void => {
      add(typeSummary, counts);
      add(summary, counts);
      summary.problems.push(...problems.slice(0, MAX_PROBLEMS - summary.problems.length));
      for (const p of problems) deps.log?.warn({ source: deps.source.name, ...p }, `sync: ${p.kind}`);
      deps.onProgress?.({ type, pages: typeSummary.pages, counts: summary });
    });
  }
  const fail = (typeSummary: TypeSummary, err: unknown): boolean => {
    summary.complete = false;
    typeSummary.error =
      err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
    deps.log?.error(
      { source: deps.source.name, type: typeSummary.type, err: typeSummary.error },
      'sync: pass stopped',
    );
    if (!(err instanceof MalformedPage || err instanceof SourceError || err instanceof PassStopped))
      throw err;
    return err instanceof PassStopped;
  };
  const done = new Set<SyncType>();
  for (const group of exportGroups(deps, capabilities, await deps.checkpoints.read())) {
    try {
      await followExport(deps, group, typeSummaries, records);
      for (const type of group.types) done.add(type);
    } catch (err) {
      if (err instanceof PassStopped) {
        fail(typeSummaries.get(group.types[0] as SyncType) as TypeSummary, err);
        summary.finishedAt = new Date().toISOString();
        return summary;
      }
      if (!(err instanceof ExportFailed || err instanceof SourceError || err instanceof MalformedPage))
        throw err;
      const reason = `${err.name}: ${err.message}`;
      deps.log?.warn({ source: deps.source.name, types: group.types, err: reason }, 'sync: export not used');
      for (const type of group.types) {
        const typeSummary = typeSummaries.get(type) as TypeSummary;
        typeSummary.exportFailed = reason;
        typeSummary.mode = offersHistory(capabilities, type) ? 'history' : 'full-comparison';
      }
    }
  }
  for (const type of deps.types) {
    if (done.has(type)) continue;
    const typeSummary = typeSummaries.get(type) as TypeSummary;
    const record = records.get(type) as Record_;
    try {
      if (typeSummary.mode === 'history') await followHistory(deps, type, typeSummary, kept, record);
      else await compareInFull(deps, type, typeSummary, kept, record);
    } catch (err) {
      if (fail(typeSummary, err)) break;
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

interface PlannedPage {
  changes: PlannedChange[];
  problems: SyncProblem[];
}

/** Short slices: the writing page's next statement waits at most this long for its turn. */
const PLAN_SLICE_MS = 2;

/**
 * Plans a page's entries (those not met before in the pass), rejecting and finding conflicts before
 * the lock. It gives the event loop back every few milliseconds, so the next page is planned while
 * the previous one's transaction is at the database (Node plans on one core, PostgreSQL writes on
 * the other; see planAhead).
 */
async function planPage(deps: FollowDeps, entries: SourceEntry[]): Promise<PlannedPage> {
  const pause = eventLoopYielder(PLAN_SLICE_MS);
  const locals: LocalEntry[] = [];
  for (const e of entries) {
    locals.push(localEntry(deps, e));
    await pause();
  }
  // With validation threads the page is validated there while this thread writes the page before.
  const threads = deps.ctx.validationThreads;
  const verdicts = new Map<LocalEntry, { error: FhirError | undefined }>();
  if (threads) {
    const validating = locals.filter((l) => l.resource);
    const errors = await threads.check(validating.map((l) => l.resource as Resource));
    validating.forEach((l, i) => verdicts.set(l, { error: errors[i] }));
  }
  const planned: (PlannedChange | SyncProblem)[] = [];
  for (const local of locals) {
    planned.push(planChange(deps, local, verdicts.get(local)));
    await pause();
  }
  const problems = planned.filter(isProblem);
  let changes = planned.filter((p): p is PlannedChange => !isProblem(p));
  const clashes = await identityConflicts(deps, changes);
  problems.push(...clashes.values());
  changes = changes.filter((c) => !clashes.has(c));
  return { changes, problems };
}

/**
 * planPage started now, its failure held until awaited (a page planned ahead whose predecessor's
 * write fails is never awaited). The identity look-ups of a page planned ahead run before the page
 * before it commits: they skip this source's own entries, so that page's writes change nothing for
 * them, and the id-level ownership check under the lock holds regardless (apply-changes.ts).
 */
function planAhead(deps: FollowDeps, entries: SourceEntry[]): Promise<PlannedPage> {
  const planning = planPage(deps, entries);
  planning.catch(() => undefined);
  return planning;
}

/** `since` less the overlap margin, as an instant. */
function sinceWithOverlap(deps: FollowDeps, since: string): string {
  return new Date(instant(since) - (deps.overlapMs ?? DEFAULT_OVERLAP_MS)).toISOString();
}

/** Timestamps a source rounds (to the second) may come this much before the `_since` asked. */
const ROUNDING_MS = 1000;

/**
 * Whether the source rewound since the checkpoint: its newest history entry (`_history?_count=1`)
 * is older than the newest one we met from it, or its history is empty. Gives the reason (undefined:
 * it did not), and the source's newest lastUpdated (the checkpoint after a full comparison).
 */
async function probeRewind(
  deps: FollowDeps,
  type: SyncType,
  at: TypeCheckpoint,
): Promise<{ reason?: string; newest?: string }> {
  const page = parseHistoryPage(await deps.client.getJson(`${type}/_history?_count=1`), type);
  const newest = page.entries.find((e) => e.lastUpdated !== undefined)?.lastUpdated;
  const known = at.by === 'export' ? undefined : (at.newest ?? at.since);
  if (known === undefined) return newest ? { newest } : {};
  if (newest === undefined)
    return { reason: `its ${type} history is empty, and we had met entries up to ${known}` };
  if (instant(newest) < instant(known))
    return {
      reason: `its newest ${type} entry is of ${newest}, older than ${known}, the newest we had met`,
      newest,
    };
  return { newest };
}

async function followHistory(
  deps: FollowDeps,
  type: SyncType,
  summary: TypeSummary,
  kept: Set<string>,
  record: Record_,
): Promise<void> {
  const checkpoint = await deps.checkpoints.read();
  const at = checkpoint.types[type] ?? {};
  const since = at.since;
  let probed: { reason?: string; newest?: string } = {};
  if (since !== undefined) probed = await probeRewind(deps, type, at);
  try {
    if (probed.reason) throw new SourceRewound(probed.reason);
    await readHistory(deps, type, summary, checkpoint, record);
  } catch (err) {
    if (!(err instanceof SourceRewound)) throw err;
    summary.rewound = err.message;
    summary.mode = 'full-comparison';
    deps.log?.warn({ source: deps.source.name, type, reason: err.message }, 'sync: the source rewound');
    const after: TypeCheckpoint = probed.newest ? { since: probed.newest } : {};
    await compareInFull(deps, type, summary, kept, record, after);
  }
}

/**
 * A history pass's checkpoint: `{ since }` when the newest entry met is the checkpoint itself; the
 * newest entry met besides when the checkpoint is an export's transactionTime, later than it, or
 * `by: 'export'` when no entry was met at all (nothing to compare the source's newest with).
 */
function historyCheckpoint(since: string, newestMet: string | undefined): TypeCheckpoint {
  if (newestMet === undefined) return { since, by: 'export' };
  return newestMet === since ? { since } : { since, newest: newestMet };
}

/** A history page read and planned; `next`: the read of the page after it, if any. */
interface TakenPage {
  next?: Promise<unknown>;
  planned: PlannedPage;
}

async function readHistory(
  deps: FollowDeps,
  type: SyncType,
  summary: TypeSummary,
  checkpoint: SyncCheckpoint,
  record: Record_,
): Promise<void> {
  const at = checkpoint.types[type] ?? {};
  const asked = at.since === undefined ? undefined : sinceWithOverlap(deps, at.since);
  const count = deps.pageSize ?? 1000;
  const met = new Set<string>();
  let newest = at.since;
  let newestMet = at.by === 'export' ? undefined : (at.newest ?? at.since);
  /**
   * Takes a page when its read (`reading`) ends: notes what it met, starts reading the next one, and
   * plans it. Called for the next page while this one is written (pipelining: the next page is read
   * and planned meanwhile); pages are taken in order, so `met` holds every page before.
   */
  const takePage = async (
    reading: Promise<unknown>,
  ): Promise<{ next?: Promise<unknown>; planned: PlannedPage }> => {
    const page: SourcePage = parseHistoryPage(await reading, type);
    const next = page.next === undefined ? undefined : deps.client.getJson(page.next);
    next?.catch(() => undefined);
    summary.pages += 1;
    for (const e of page.entries) {
      if (!e.lastUpdated) continue;
      if (asked !== undefined && instant(e.lastUpdated) < instant(asked) - ROUNDING_MS)
        throw new SourceRewound(
          `its history since ${asked} holds ${type}/${e.id} of ${e.lastUpdated}, before what we asked`,
        );
      if (instant(e.lastUpdated) > instant(newest)) newest = e.lastUpdated;
      if (instant(e.lastUpdated) > instant(newestMet)) newestMet = e.lastUpdated;
    }
    const fresh = latestPerEntry(page.entries, 'newest-first').filter((e) => !met.has(e.id));
    for (const e of fresh) met.add(e.id);
    return { ...(next ? { next } : {}), planned: await planPage(deps, fresh) };
  };
  const quietly = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined);
    return p;
  };
  let ahead: Promise<TakenPage> | undefined = quietly(
    takePage(
      deps.client.getJson(
        `${type}/_history?_count=${count}${asked ? `&_since=${encodeURIComponent(asked)}` : ''}`,
      ),
    ),
  );
  while (ahead !== undefined) {
    checkStopped(deps);
    const taken: TakenPage = await ahead;
    const reading = taken.next;
    const { changes, problems } = taken.planned;
    const last = reading === undefined;
    ahead = reading === undefined ? undefined : quietly(takePage(reading));
    // Written only with the last page: no page is taken after it, so `newest` is the pass's.
    const next: SyncCheckpoint = {
      types: {
        ...checkpoint.types,
        [type]: newest ? historyCheckpoint(newest, newestMet) : {},
      },
    };
    const result = await applyChanges(
      deps,
      changes,
      last ? (session) => deps.checkpoints.write(session, next) : undefined,
    );
    record(withPlanned(result.counts, problems), [...problems, ...result.problems]);
  }
  if (newest) summary.since = newest;
}

interface ExportGroup {
  level: 'system' | 'type';
  types: SyncType[];
  /** The checkpoint of an incremental export (`_since`); undefined for a first copy. */
  since?: string;
}

/**
 * The exports a pass runs: a first copy of each type without a checkpoint, and the incremental pass
 * of a type the source offers no history of, when the source offers `$export` for them (one system-
 * level job for the types that share a checkpoint, else one type-level job per type).
 */
function exportGroups(deps: FollowDeps, capabilities: unknown, checkpoint: SyncCheckpoint): ExportGroup[] {
  if (deps.useExport === false) return [];
  const groups: ExportGroup[] = [];
  for (const type of deps.types) {
    const level = exportLevel(capabilities, type);
    const since = checkpoint.types[type]?.since;
    if (level === undefined || (since !== undefined && offersHistory(capabilities, type))) continue;
    const shared = groups.find((g) => g.level === 'system' && level === 'system' && g.since === since);
    if (shared) shared.types.push(type);
    else groups.push({ level, types: [type], ...(since === undefined ? {} : { since }) });
  }
  return groups;
}

/**
 * One export read into this directory: kicked off, polled, its files streamed in pages, each page
 * one transaction; the checkpoint (the manifest's transactionTime, for every type of the job) is
 * written in the transaction of the last page. The next page is read while one is written. The job
 * is cancelled (DELETE) whether it ends or is abandoned.
 */
async function followExport(
  deps: FollowDeps,
  group: ExportGroup,
  summaries: Map<SyncType, TypeSummary>,
  records: Map<SyncType, Record_>,
): Promise<void> {
  const checkpoint = await deps.checkpoints.read();
  const asked = group.since === undefined ? undefined : sinceWithOverlap(deps, group.since);
  const job = await SourceExport.kickOff(deps.client, group.level, group.types, asked);
  try {
    const manifest = await job.manifest({
      ...deps.exportOptions,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    checkStopped(deps);
    if (group.since !== undefined && instant(manifest.transactionTime) < instant(group.since))
      throw new ExportFailed(
        `the source rewound: its export's transactionTime ${manifest.transactionTime} is before ${group.since}, our checkpoint (a full comparison follows)`,
      );
    for (const type of group.types) {
      const s = summaries.get(type) as TypeSummary;
      s.mode = 'export';
    }
    const newestMet = new Map<SyncType, string | undefined>(
      group.types.map((t) => [t, checkpoint.types[t]?.newest]),
    );
    const finalCheckpoint = (): SyncCheckpoint => {
      const types = { ...checkpoint.types };
      for (const t of group.types) {
        const newest = newestMet.get(t);
        types[t] = newest
          ? { since: manifest.transactionTime, newest }
          : { since: manifest.transactionTime, by: 'export' };
      }
      return { types };
    };
    const pages = exportPages(deps.client, manifest, group.types, deps.pageSize ?? 1000);
    const quiet = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined);
      return p;
    };
    try {
      // Two pages read ahead: the one after the page being written says whether that one is the last.
      let current = await pages.next();
      let following = current.done ? current : await pages.next();
      if (current.done) {
        await applyChanges(deps, [], (session) => deps.checkpoints.write(session, finalCheckpoint()));
        return;
      }
      let planning = planAhead(deps, latestPerEntry(current.value.entries, 'in-order'));
      while (!current.done) {
        checkStopped(deps);
        const page: ExportPage = current.value;
        const last = following.done === true;
        const ahead = last ? undefined : quiet(pages.next());
        const { changes, problems } = await planning;
        // The next page (read already) is planned while this one is written.
        if (!following.done) planning = planAhead(deps, latestPerEntry(following.value.entries, 'in-order'));
        const summary = summaries.get(page.type) as TypeSummary;
        summary.pages += 1;
        for (const e of page.entries)
          if (e.lastUpdated && instant(e.lastUpdated) > instant(newestMet.get(page.type)))
            newestMet.set(page.type, e.lastUpdated);
        const result = await applyChanges(
          deps,
          changes,
          last ? (session) => deps.checkpoints.write(session, finalCheckpoint()) : undefined,
        );
        (records.get(page.type) as Record_)(withPlanned(result.counts, problems), [
          ...problems,
          ...result.problems,
        ]);
        current = following;
        following = ahead === undefined ? following : await ahead;
      }
      for (const t of group.types) (summaries.get(t) as TypeSummary).since = manifest.transactionTime;
    } finally {
      await pages.return(undefined).catch(() => undefined);
    }
  } finally {
    await job.cancel().catch((err: unknown) => {
      deps.log?.warn({ source: deps.source.name, err: String(err) }, 'sync: could not cancel the export');
    });
  }
}

async function compareInFull(
  deps: FollowDeps,
  type: SyncType,
  summary: TypeSummary,
  kept: Set<string>,
  record: Record_,
  after: TypeCheckpoint = {},
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
    deps.checkpoints.write(session, { types: { ...checkpoint.types, [type]: after } }),
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
