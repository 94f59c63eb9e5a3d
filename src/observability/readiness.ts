/**
 * What /ready answers: whether this process should be sent traffic. Ready means the database answers
 * a query, every schema migration this build knows is recorded in it, and the seed (SEED=true) is
 * loaded. Alive (/health) is less: the process answers HTTP at all, even while it starts.
 *
 * The database and migration checks are one small query (schema_migration's ids), bounded by
 * READY_TIMEOUT_MS, so a probe is answered in time even when the database hangs.
 */
import type { ResourceStore } from '../storage/resource-store';

export type CheckName = 'startup' | 'database' | 'migrations' | 'seed';

export interface ReadinessCheck {
  name: CheckName;
  ok: boolean;
  detail: string;
}

export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: ReadinessCheck[];
}

/** The longest /ready waits for the database before it says the database did not answer. */
export const READY_TIMEOUT_MS = 2000;

/** While the directory starts (definitions, seed) the HTTP server answers /ready with this. */
export const STARTING: Readiness = {
  status: 'unavailable',
  checks: [
    {
      name: 'startup',
      ok: false,
      detail: 'the directory is starting (loading definitions and seed data)',
    },
  ],
};

export interface ReadinessOptions {
  store: Pick<ResourceStore, 'pendingMigrations'>;
  /** Whether SEED=true asked for seed data (it is loaded before the server is ready at all). */
  seedRequested: boolean;
  timeoutMs?: number;
  /** Told why the database check failed (the answer itself says only that it did). */
  onDatabaseError?: (err: unknown) => void;
}

class ReadyTimeout extends Error {}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ReadyTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function checkReadiness(options: ReadinessOptions): Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const checks: ReadinessCheck[] = [];
  try {
    const pending = await within(options.store.pendingMigrations(), timeoutMs);
    checks.push({ name: 'database', ok: true, detail: 'answered a query' });
    checks.push(
      pending.length === 0
        ? { name: 'migrations', ok: true, detail: 'every migration is applied' }
        : {
            name: 'migrations',
            ok: false,
            detail: `not applied: ${pending.join(', ')} (run the migrate command, or restart)`,
          },
    );
  } catch (err) {
    options.onDatabaseError?.(err);
    const detail =
      err instanceof ReadyTimeout ? `did not answer within ${timeoutMs} ms` : 'a query failed (see the log)';
    checks.push({ name: 'database', ok: false, detail });
    checks.push({ name: 'migrations', ok: false, detail: 'not known: the database did not answer' });
  }
  checks.push({
    name: 'seed',
    ok: true,
    detail: options.seedRequested ? 'loaded' : 'not requested (SEED=false)',
  });
  return { status: checks.every((check) => check.ok) ? 'ready' : 'unavailable', checks };
}
