/**
 * Runs this process's share of the export jobs in the background. A job's work is its counting pass:
 * each type of the snapshot is walked in keyset pages (one bounded statement each, a pass of the
 * event loop between them, so searches are answered meanwhile, on PGlite's one connection too), and
 * the counts make the manifest. Its files need no work: they are read from the snapshot when
 * downloaded (export-files.ts).
 *
 * Jobs live in the database (export-store.ts): any process on it claims a queued job, holds it with
 * a lease renewed at every page and saves its progress there, so a job survives a restart (a process
 * that stops gives its jobs back; one that crashed lets its lease run out) and is resumed where its
 * progress says, by whichever process claims it next.
 */
import { randomUUID } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import type { Logger } from '../logger';
import type { ExportJob } from '../storage/export-store';
import { readProgress, type ExportProgress } from './export-progress';
import { snapshotQueryOf } from './export-snapshot';

export interface ExportRunnerOptions {
  /** EXPORT_RETENTION_MINUTES. */
  retentionMinutes: number;
  logger?: Logger;
  /** How often idle runners look for jobs nobody runs (a crashed process's), in ms. */
  pollMs?: number;
  /** Versions counted per statement. */
  pageRows?: number;
}

/** A runner that stops renewing its lease (a crashed process) loses its jobs after this long. */
export const LEASE_SECONDS = 30;
/** An expired job answers 410 for this long before it is removed (and then answers 404). */
export const EXPIRED_KEPT_MINUTES = 60;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ExportRunner {
  private readonly owner = randomUUID();
  private readonly pageRows: number;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private wanted = false;
  private closed = false;
  /** Whether this process has claimed a job since it started (only then has it leases to give back). */
  private claimedAny = false;
  /** Only a started runner runs jobs (EXPORT_RUN_JOBS=false leaves them to other processes). */
  private started = false;

  constructor(
    private readonly ctx: FhirContext,
    private readonly options: ExportRunnerOptions,
  ) {
    this.pageRows = options.pageRows ?? 5000;
  }

  /** Looks for jobs now (those a previous run of the directory left) and every `pollMs` after. */
  start(): void {
    this.started = true;
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.timer.unref();
    this.wake();
  }

  /** Runs the waiting jobs, unless already at it (then it looks again when done). */
  wake(): void {
    if (!this.started || this.closed) return;
    this.wanted = true;
    if (this.draining) return;
    this.draining = this.drain()
      .catch((err: unknown) => this.options.logger?.error({ err }, 'export runner failed; it retries'))
      .finally(() => {
        this.draining = undefined;
        if (this.wanted && !this.closed) this.wake();
      });
  }

  /** Stops after the page at hand and gives this process's jobs back, for another process (or the next start) to resume. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
    if (!this.claimedAny) return;
    // A lease left behind runs out by itself (LEASE_SECONDS): a store that is already closed, or
    // failing, must not make closing fail.
    try {
      await this.ctx.store.exports.release(this.owner);
    } catch (err) {
      this.options.logger?.warn({ err }, 'export jobs not given back at close; their leases run out');
    }
  }

  private async drain(): Promise<void> {
    const jobs = this.ctx.store.exports;
    while (this.wanted && !this.closed) {
      this.wanted = false;
      await jobs.purgeExpired(EXPIRED_KEPT_MINUTES);
      for (;;) {
        if (this.closed) return;
        const job = await jobs.claim(this.owner, LEASE_SECONDS);
        if (!job) break;
        this.claimedAny = true;
        await this.runJob(job);
      }
    }
  }

  private async runJob(job: ExportJob): Promise<void> {
    const jobs = this.ctx.store.exports;
    try {
      const progress = readProgress(job.progress);
      const counted = await this.count(job, progress);
      if (!counted) return;
      await jobs.finish(
        job.id,
        this.owner,
        { status: 'complete', progress: JSON.stringify(progress) },
        this.options.retentionMinutes,
      );
    } catch (err) {
      if (this.closed) return; // The store is closing under it: the next start resumes the job.
      this.options.logger?.error({ err, job: job.id }, 'export job failed');
      const reason = err instanceof Error ? err.message : String(err);
      await jobs.finish(
        job.id,
        this.owner,
        { status: 'failed', error: reason },
        this.options.retentionMinutes,
      );
    }
  }

  /** The counting pass from `progress` on, saved at every page; false when it stopped (cancelled, or the process stops). */
  private async count(job: ExportJob, progress: ExportProgress): Promise<boolean> {
    const jobs = this.ctx.store.exports;
    while (progress.typeIndex < job.types.length) {
      if (this.closed) return false;
      const type = job.types[progress.typeIndex] as string;
      const page = await jobs.countPage(snapshotQueryOf(job, type), {
        afterSeq: progress.afterSeq,
        limit: this.pageRows,
      });
      const counts = (progress.counts[type] ??= { resources: 0, deleted: 0 });
      counts.resources += page.resources;
      counts.deleted += page.deleted;
      if (page.rows < this.pageRows) {
        progress.typeIndex += 1;
        progress.afterSeq = 0;
      } else progress.afterSeq = page.lastSeq;
      if (!(await jobs.saveProgress(job.id, this.owner, JSON.stringify(progress), LEASE_SECONDS)))
        return false;
      await nextTurn();
    }
    return true;
  }
}
