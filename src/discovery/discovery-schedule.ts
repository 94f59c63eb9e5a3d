/**
 * The server's periodic crawl (DISCOVERY_INTERVAL). Every tick crawls the endpoints that are due
 * (not checked, by any process, within the interval), so several server processes on one database
 * share the work instead of repeating it, and an Endpoint added since the last crawl is checked
 * within a tick rather than a whole interval later. A tick is a quarter of the interval, between one
 * minute and one hour; the first comes a minute after start-up, not during it. After each crawl the
 * checks older than the summary's 30 days are pruned (each endpoint's newest is kept whatever its
 * age), PRUNE_BATCH rows per statement.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import { crawl, type CrawlProgress } from './crawler';
import { SUMMARY_DAYS } from './discovery-summary';
import type { FetchOptions } from './safe-fetch';

/** Rows one pruning statement deletes at most, so it holds no lock for long. */
export const PRUNE_BATCH = 5_000;

export interface ScheduleOptions {
  intervalMs: number;
  concurrency: number;
  fetch: FetchOptions;
  /** Told about each finished crawl, and about a crawl that failed (the next tick tries again). */
  onCrawl?: (progress: CrawlProgress, durationMs: number) => void;
  onError?: (err: unknown) => void;
  /** The first tick's delay (a minute when absent). */
  firstTickMs?: number;
  /** The directory is answering requests now: the crawl gives way (CrawlOptions.busy). */
  busy?: () => boolean;
}

export interface DiscoverySchedule {
  /** Stops ticking, lets the checks under way finish. */
  stop(): Promise<void>;
}

/** A lease holder's name unique to this process: host, pid and a random part. */
export function processHolderName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export function startDiscoverySchedule(
  ctx: Pick<FhirContext, 'store' | 'baseUrl' | 'validator'>,
  options: ScheduleOptions,
): DiscoverySchedule {
  const holder = processHolderName();
  const tickMs = Math.min(3_600_000, Math.max(60_000, Math.floor(options.intervalMs / 4)));
  const stopping = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = (): void => {
    running = (async () => {
      const started = Date.now();
      try {
        const progress = await crawl(ctx, {
          fetch: options.fetch,
          concurrency: options.concurrency,
          holder,
          dueBefore: new Date(started - options.intervalMs).toISOString(),
          signal: stopping.signal,
          ...(options.busy ? { busy: options.busy } : {}),
        });
        options.onCrawl?.(progress, Date.now() - started);
        // Checks the summary no longer reads (older than its window, and not an endpoint's newest).
        await ctx.store.discovery.pruneChecks(SUMMARY_DAYS, PRUNE_BATCH);
      } catch (err) {
        options.onError?.(err);
      }
      if (!stopping.signal.aborted) schedule(tickMs);
    })();
  };
  const schedule = (ms: number): void => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(options.firstTickMs ?? 60_000);
  return {
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
