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
  /** The request's arrival key (requestArrived): how its client was told apart before it was known. */
  arrival: string;
  /** When it began (performance.now()). */
  startedAt: number;
  /** How long this request's statements have held the database so far, in ms. */
  heldMs: number;
}

const owner = new AsyncLocalStorage<OwnedWork>();

/** How recent an arrival shows that others are being served, in ms. */
const RECENT_MS = 1000;

/**
 * The requests under way in this process (the HTTP server counts each from its arrival, on every
 * path), per arrival key: what tells clients apart before a request is authenticated (src/http:
 * the remote address and the Authorization header), so that one client's parallel requests are not
 * taken for other clients.
 */
const underWay = new Map<string, number>();
let requestsUnderWay = 0;
/** The latest arrival, and the latest of a key other than its own (so: the latest of any other key). */
let lastArrival = { key: '', at: -Infinity };
let lastOtherArrival = { key: '', at: -Infinity };

/**
 * Runs `work`, and every statement it sends, as `who`'s (a client id, or a remote address);
 * `arrival`: the request's arrival key (requestArrived), `who` when absent.
 */
export function runAsOwner<T>(who: string, work: () => T, arrival: string = who): T {
  return owner.run({ who, arrival, startedAt: performance.now(), heldMs: 0 }, work);
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

/**
 * Counts one request of the client known by `key` from its arrival; call the returned function once
 * when it is answered or abandoned.
 */
export function requestArrived(key: string): () => void {
  requestsUnderWay += 1;
  underWay.set(key, (underWay.get(key) ?? 0) + 1);
  const now = performance.now();
  if (key !== lastArrival.key) lastOtherArrival = lastArrival;
  lastArrival = { key, at: now };
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    requestsUnderWay -= 1;
    const left = (underWay.get(key) ?? 1) - 1;
    if (left > 0) underWay.set(key, left);
    else underWay.delete(key);
  };
}

/**
 * Whether requests of other clients than the current request's are under way, or have arrived while
 * it was (within the last second): a cached answer is often sent within the tick it arrived in, so
 * that counting those under way at one instant would miss a busy stream of them. Outside a request,
 * whether any request is under way.
 */
export function othersUnderWay(): boolean {
  const work = owner.getStore();
  if (!work) return requestsUnderWay > 0;
  if (requestsUnderWay > (underWay.get(work.arrival) ?? 0)) return true;
  const otherAt = lastArrival.key !== work.arrival ? lastArrival.at : lastOtherArrival.at;
  return otherAt > work.startedAt && performance.now() - otherAt < RECENT_MS;
}
