/** What the $export interactions need beyond the store: the configured limits and the local runner. */
export interface ExportSettings {
  /** EXPORT_MAX_JOBS: jobs queued or running at once, over every process on the database. */
  maxJobs: number;
  /** EXPORT_RETENTION_MINUTES: how long a finished job's manifest and files are served. */
  retentionMinutes: number;
  /** Tells this process's runner (export-runner.ts) that a job is waiting. */
  wake(): void;
}

/** Seconds a client is asked to wait between polls (export.html#response---in-progress-status). */
export const POLL_SECONDS = 1;
