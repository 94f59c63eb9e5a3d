/**
 * On whose behalf the database is working: the client a request came from, carried from src/http
 * (which knows the client) down to the SQL layer (which schedules statements fairly between clients:
 * fair-queue.ts) without threading it through every interaction and store call in between.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const owner = new AsyncLocalStorage<string>();

/** Runs `work`, and every statement it sends, as `who`'s (a client id, or a remote address). */
export function runAsOwner<T>(who: string, work: () => T): T {
  return owner.run(who, work);
}

/** The owner of the work now under way, or '' (the directory's own work: start-up, jobs, the CLI). */
export function currentOwner(): string {
  return owner.getStore() ?? '';
}
