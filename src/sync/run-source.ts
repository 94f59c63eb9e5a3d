/**
 * Runs passes of one followed source: registers it (the sources registry, kind `fhir-server`, its
 * base URL as uri), takes its lease so that one pass at a time runs per source across every process
 * on the database, runs the pass with the source as the write actor, and records its status for
 * operators (`GET /admin/sources/:name`). Secrets (api keys, key files' contents) are never stored:
 * the registry keeps the auth *kind*, the types and the interval.
 */
import { hostname } from 'node:os';
import { processHolderName } from '../discovery/discovery-schedule';
import type { FhirContext } from '../fhir/context';
import type { Logger } from '../logger';
import { secondsSince } from '../observability/duration-histogram';
import type { SourceJson, SourceRecord } from '../storage/source-store';
import { ownedBy, type SourceIdentity } from './apply-changes';
import { followOnce, type FollowDeps, type PassSummary, type SyncCheckpoint } from './follow-source';
import { SourceClient, type SourceClientOptions } from './source-client';
import type { SyncSourceSettings } from './source-settings';

/** A lease outlives a stalled holder by this much at most; the holder renews it every third of it. */
export const LEASE_MS = 120_000;

export interface RunDeps {
  ctx: FhirContext;
  settings: SyncSourceSettings;
  log?: Logger;
  client?: SourceClientOptions;
  pageSize?: number;
  onProgress?: Parameters<typeof followOnce>[0]['onProgress'];
  signal?: AbortSignal;
  /** Caps on waiting for a source's export (follow-source.ts). */
  exportOptions?: FollowDeps['exportOptions'];
}

/** What a pass came to: its summary, or `busy` when another process (or pass) holds the source's lease. */
export type RunResult = { state: 'done'; summary: PassSummary } | { state: 'busy'; holder?: string };

/** The registry's view of the settings: nothing secret. */
function storedSettings(settings: SyncSourceSettings): SourceJson {
  return {
    types: settings.types,
    auth: settings.auth.kind,
    mutualTls: settings.tls.cert !== undefined,
    ...(settings.intervalMs === undefined ? {} : { intervalMs: settings.intervalMs }),
    ...(settings.overlapMs === undefined ? {} : { overlapMs: settings.overlapMs }),
    ...(settings.useExport === undefined ? {} : { useExport: settings.useExport }),
  };
}

export function registerSource(ctx: FhirContext, settings: SyncSourceSettings): Promise<SourceRecord> {
  return ctx.store.sources.upsert({
    name: settings.name,
    kind: 'fhir-server',
    uri: settings.from,
    url: settings.from,
    settings: storedSettings(settings),
  });
}

/**
 * Whether `holder` (a processHolderName) names a process of this host that no longer exists: a sync killed
 * (SIGKILL, a crash) leaves its lease behind, and its restart need not wait for it to run out.
 * A process of another host, or one that still runs (or whose pid was given to another process),
 * keeps its lease until it runs out.
 */
function goneFromThisHost(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes the source's lease, or takes it over from a process of this host that is gone. */
async function takeSourceLease(ctx: FhirContext, name: string, holder: string): Promise<boolean> {
  if (await ctx.store.sources.takeLease(name, holder, LEASE_MS)) return true;
  const other = await ctx.store.sources.leaseHolder(name);
  return (
    other !== undefined &&
    goneFromThisHost(other) &&
    ctx.store.sources.takeOverLease(name, other, holder, LEASE_MS)
  );
}

/** The lease is a row of its own (storage/lease-sql.ts): rewriting the status cannot drop it. */
async function setStatus(ctx: FhirContext, name: string, status: SourceJson): Promise<void> {
  await ctx.store.sources.update(name, { status });
}

export async function runSourcePass(deps: RunDeps): Promise<RunResult> {
  const { ctx, settings } = deps;
  const record = await registerSource(ctx, settings);
  const holder = processHolderName();
  if (!(await takeSourceLease(ctx, settings.name, holder))) {
    const other = await ctx.store.sources.leaseHolder(settings.name);
    return { state: 'busy', ...(other ? { holder: other } : {}) };
  }
  const renew = setInterval(() => {
    ctx.store.sources.takeLease(settings.name, holder, LEASE_MS).catch((err: unknown) => {
      deps.log?.warn({ source: settings.name, err }, 'sync: could not renew the lease');
    });
  }, LEASE_MS / 3);
  renew.unref();
  const source: SourceIdentity = { name: record.name, uri: record.uri };
  const client = new SourceClient(settings, {
    ...deps.client,
    onRetry: (what, waitMs, attempt) => {
      deps.log?.warn({ source: source.name, what, waitMs, attempt }, 'sync: retrying');
      deps.client?.onRetry?.(what, waitMs, attempt);
    },
  });
  const previous = record.status ?? {};
  const started = process.hrtime.bigint();
  try {
    await setStatus(ctx, source.name, {
      ...withoutLease(previous),
      state: 'running',
      runningSince: new Date().toISOString(),
    });
    const summary = await followOnce({
      ctx,
      source,
      actor: { kind: 'source', source },
      isOwn: ownedBy(source),
      client,
      types: settings.types,
      checkpoints: {
        read: async () =>
          ((await ctx.store.sources.get(source.name))?.checkpoint ?? {
            types: {},
          }) as unknown as SyncCheckpoint,
        write: (session, checkpoint) =>
          session.setSourceCheckpoint(source.name, checkpoint as unknown as SourceJson),
      },
      ...(deps.log ? { log: deps.log } : {}),
      ...(deps.pageSize ? { pageSize: deps.pageSize } : {}),
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(settings.overlapMs === undefined ? {} : { overlapMs: settings.overlapMs }),
      ...(settings.useExport === undefined ? {} : { useExport: settings.useExport }),
      ...(deps.exportOptions ? { exportOptions: deps.exportOptions } : {}),
    });
    ctx.jobMetrics?.recordSyncPass(source.name, secondsSince(started), summary);
    await setStatus(ctx, source.name, {
      state: summary.complete ? 'ok' : 'failed',
      lastRun: summary,
      ...(summary.complete
        ? { lastSuccessAt: summary.finishedAt }
        : previous.lastSuccessAt
          ? { lastSuccessAt: previous.lastSuccessAt }
          : {}),
    });
    return { state: 'done', summary };
  } catch (err) {
    ctx.jobMetrics?.recordSyncPass(source.name, secondsSince(started));
    await setStatus(ctx, source.name, {
      ...withoutLease(previous),
      state: 'failed',
      error: err instanceof Error ? err.message : String(err),
      failedAt: new Date().toISOString(),
    }).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(renew);
    await client.close();
    await ctx.store.sources.releaseLease(source.name, holder).catch(() => undefined);
  }
}

function withoutLease(status: SourceJson): SourceJson {
  const { lease: _lease, state: _state, runningSince: _since, ...rest } = status;
  return rest;
}
