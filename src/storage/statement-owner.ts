/**
 * On whose behalf the database is working: the client a request came from, carried from src/http
 * (which knows the client) down to the SQL layer (which schedules statements fairly between clients:
 * fair-queue.ts, owner-pacing.ts) without threading it through every interaction and store call in
 * between. It also counts the requests under way, so that the SQL layer can tell whether a client is
 * alone (owner-pacing.ts holds a client back only while others are being served).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface OwnedWork {
  who: string;
  /** When it began (performance.now()). */
  startedAt: number;
  /** How long this request's statements have held the database so far, in ms. */
  heldMs: number;
}

const owner = new AsyncLocalStorage<OwnedWork>();

/** Requests of any client under way in this process (the HTTP server counts each, on every path). */
let requestsUnderWay = 0;
/** When the latest request arrived (performance.now()). */
let lastArrivalAt = -Infinity;
/** How recent an arrival shows that others are being served, in ms. */
const RECENT_MS = 1000;
/** Per owner: its work under way in runAsOwner. */
const ownWork = new Map<string, number>();

/** Runs `work`, and every statement it sends, as `who`'s (a client id, or a remote address). */
export function runAsOwner<T>(who: string, work: () => T): T {
  ownWork.set(who, (ownWork.get(who) ?? 0) + 1);
  const done = (): void => {
    const left = (ownWork.get(who) ?? 1) - 1;
    if (left > 0) ownWork.set(who, left);
    else ownWork.delete(who);
  };
  let result: T;
  try {
    result = owner.run({ who, startedAt: performance.now(), heldMs: 0 }, work);
  } catch (err) {
    done();
    throw err;
  }
  if (result instanceof Promise) result.then(done, done);
  else done();
  return result;
}

/** The owner of the work now under way, or '' (the directory's own work: start-up, jobs, the CLI). */
export function currentOwner(): string {
  return owner.getStore()?.who ?? '';
}

/**
 * Adds `ms` to the time the current request's statements have held the database; returns the total
 * before and after (both 0 outside a request).
 */
export function addHeldTime(ms: number): { before: number; after: number } {
  const work = owner.getStore();
  if (!work) return { before: 0, after: 0 };
  const before = work.heldMs;
  work.heldMs += ms;
  return { before, after: work.heldMs };
}

/** Counts one request from its arrival; call the returned function once when it is answered or abandoned. */
export function requestArrived(): () => void {
  requestsUnderWay += 1;
  lastArrivalAt = performance.now();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    requestsUnderWay -= 1;
  };
}

/**
 * Whether requests other than `who`'s own are under way, or have arrived while the current request
 * of `who` was (within the last second): a cached answer is often sent within the tick it arrived in,
 * so that counting those under way at one instant would miss a busy stream of them.
 */
export function othersUnderWay(who: string): boolean {
  if (requestsUnderWay > (ownWork.get(who) ?? 0)) return true;
  const work = owner.getStore();
  return (
    work !== undefined && lastArrivalAt > work.startedAt && performance.now() - lastArrivalAt < RECENT_MS
  );
}
