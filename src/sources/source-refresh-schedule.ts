/**
 * The server's refresh of published lists (SOURCE_REFRESH_INTERVAL). Every source with a URL and a
 * list kind (imported by `fhir-directory import https://…`; not the followed directories of
 * SYNC_SOURCES) is fetched again once its last refresh, or its last import, is older than the
 * interval, and imported as that source: the difference applied, what it no longer lists retired.
 * One process at a time per source across every process on the database: a source is refreshed
 * under its lease (its row of the `lease` table, kind sync-source, renewed while the work goes on)
 * and is checked to be still due once the lease is held, so two servers do not both refresh it. The
 * lease is the source's, shared with a sync pass of the same name on purpose (lease-sql.ts). The
 * outcome is kept in the source's status as `lastRefresh` ({at, outcome, error?}); a failure leaves
 * the entries as they were and is retried at the next interval.
 */
import type { FhirContext } from '../fhir/context';
import { processHolderName } from '../discovery/discovery-schedule';
import { fetchListUrl, type ListFetchOptions } from '../import/fetch-list-url';
import { IMPORT_SOURCES, type ImportSource } from '../import/import-report';
import { importListFile } from '../import/import-list-file';
import { mergeSourceStatus, type SourceRecord } from '../storage/source-store';

/** A lease lasts this long unless renewed; it is renewed every LEASE_RENEW_MS while the refresh runs. */
const LEASE_MS = 5 * 60_000;
const LEASE_RENEW_MS = 60_000;

export interface RefreshOutcome {
  source: string;
  outcome: 'imported' | 'failed';
  counts?: Record<string, number>;
  error?: string;
}

export interface RefreshScheduleOptions {
  intervalMs: number;
  /** How often due sources are looked for: a quarter of the interval, between 1 s and 5 minutes, when absent. */
  tickMs?: number;
  /** The first look's delay (a tick when absent). */
  firstTickMs?: number;
  fetch?: ListFetchOptions;
  onRefresh?: (outcome: RefreshOutcome) => void;
  onError?: (err: unknown) => void;
  /** Told when a look for due sources is over (tests wait for it rather than for time). */
  onTick?: () => void;
}

export interface RefreshSchedule {
  /** Stops looking; the refresh under way is let finish. */
  stop(): Promise<void>;
}

interface RefreshStatus {
  lastImport?: string;
  lastRefresh?: { at?: string };
}

/** A source the schedule refreshes: a list kind with a URL. */
export function isRefreshable(source: SourceRecord): boolean {
  return (
    source.url !== undefined && IMPORT_SOURCES.includes(source.kind as ImportSource) && source.kind !== 'fhir'
  );
}

/** Whether the source was last fetched (refreshed or imported) before `dueBefore` (ms since the epoch). */
export function isDue(source: SourceRecord, dueBefore: number): boolean {
  const status = (source.status ?? {}) as RefreshStatus;
  const last = [status.lastRefresh?.at, status.lastImport]
    .map((at) => (at === undefined ? Number.NaN : Date.parse(at)))
    .filter((ms) => !Number.isNaN(ms));
  return last.length === 0 || Math.max(...last) < dueBefore;
}

async function keepOutcome(
  ctx: Pick<FhirContext, 'store'>,
  name: string,
  at: string,
  outcome: RefreshOutcome,
) {
  await mergeSourceStatus(ctx.store.sources, name, {
    lastRefresh: { at, outcome: outcome.outcome, ...(outcome.error ? { error: outcome.error } : {}) },
  });
}

/** Refreshes one source under its lease; undefined when another process has it or it is no longer due. */
export async function refreshSource(
  ctx: FhirContext,
  name: string,
  holder: string,
  dueBefore: number,
  fetch: ListFetchOptions = {},
): Promise<RefreshOutcome | undefined> {
  const sources = ctx.store.sources;
  if (!(await sources.takeLease(name, holder, LEASE_MS))) return undefined;
  const renew = setInterval(
    () => void sources.takeLease(name, holder, LEASE_MS).catch(() => undefined),
    LEASE_RENEW_MS,
  );
  renew.unref();
  try {
    // Read again under the lease: another process may have refreshed it since the list was read.
    const source = await sources.get(name);
    if (!source || !isRefreshable(source) || !isDue(source, dueBefore)) return undefined;
    const at = new Date().toISOString();
    let outcome: RefreshOutcome;
    try {
      const download = await fetchListUrl(source.url as string, fetch);
      try {
        const { quality } = await importListFile(ctx, download.path, {
          fileName: download.fileName,
          url: source.url,
          source: source.kind as ImportSource,
          name: source.name,
        });
        outcome = { source: name, outcome: 'imported', counts: { ...quality.counts } };
      } finally {
        await download.remove();
      }
    } catch (err) {
      outcome = { source: name, outcome: 'failed', error: (err as Error).message };
    }
    await keepOutcome(ctx, name, at, outcome);
    return outcome;
  } finally {
    clearInterval(renew);
    await sources.releaseLease(name, holder);
  }
}

export function startSourceRefresh(ctx: FhirContext, options: RefreshScheduleOptions): RefreshSchedule {
  const holder = processHolderName();
  const tickMs = options.tickMs ?? Math.min(300_000, Math.max(1_000, Math.floor(options.intervalMs / 4)));
  let stopped = false;
  const stopping = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = (): void => {
    running = (async () => {
      try {
        const dueBefore = Date.now() - options.intervalMs;
        const due = (await ctx.store.sources.list()).filter((s) => isRefreshable(s) && isDue(s, dueBefore));
        for (const source of due) {
          if (stopped) break;
          const outcome = await refreshSource(ctx, source.name, holder, dueBefore, {
            ...options.fetch,
            signal: stopping.signal,
          });
          if (outcome) options.onRefresh?.(outcome);
        }
      } catch (err) {
        options.onError?.(err);
      }
      options.onTick?.();
      if (!stopped) schedule(tickMs);
    })();
  };
  const schedule = (ms: number): void => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(options.firstTickMs ?? tickMs);
  return {
    async stop() {
      stopped = true;
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
