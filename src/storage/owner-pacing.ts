/**
 * Pacing of one client's costly requests while other clients are being served (issue 9: the noisy
 * neighbour). A search within every request limit can still hold the database for a second or more
 * (SEARCH_MAX_COST bounds each statement, not how many a request sends or how often a client sends
 * it), and a client sending such searches back to back keeps a database core busy for as long as it
 * likes: on PostgreSQL its backend competes with everyone else's for the machine's cores, on PGlite
 * its statements take the core the one connection runs on. Nothing else in the server notices: cached
 * answers need no statement, and the other clients' own requests are short.
 *
 * The rule: once the statements of one request (statement-owner.ts) have held the database for
 * `costlyMs` in all, the request is costly, and all of its database time is charged to its client: the
 * client's next statement is put off by `(1 - share) / share` times the time charged, so that its
 * costly work holds the database at most `share` of the time. The wait happens before the statement
 * takes a connection (or its turn in PGlite's queue), holds nothing, ends when the request is
 * abandoned, and applies only while other clients' requests are under way: a client alone is never
 * held back, not even with several requests at once over several connections (requests are told
 * apart from their arrival by address and Authorization header, statement-owner.ts), and ordinary requests (a few ms of statements each) are never charged. The directory's own work
 * (owner '': imports, sync, jobs) is not paced. How far ahead one client's debt may reach is capped
 * (MAX_DEBT_MS), so a client sending costly requests over many connections at once waits at most that.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { addHeldTime, othersUnderWay } from './statement-owner';
import { QueryCancelledError } from './storage-errors';

/** CLIENT_DB_SHARE and COSTLY_REQUEST_MS (README, Configuration). */
export interface PacingSettings {
  /** The most of the time one client's costly statements may hold the database (0 < share <= 1; 1: off). */
  share: number;
  /** A request whose statements held the database this long in all (ms) is costly. */
  costlyMs: number;
}

export interface PacingStats {
  /** Statements that waited before they ran. */
  waits: number;
  /** Their waits, in seconds. */
  seconds: number;
}

const MAX_DEBT_MS = 60_000;

export class OwnerPacing {
  /** Per owner: the earliest start (performance.now()) of its next statement, when in the future. */
  private readonly nextStart = new Map<string, number>();
  private readonly counts: PacingStats = { waits: 0, seconds: 0 };

  constructor(private readonly settings: PacingSettings) {}

  /**
   * Undefined when `owner` may send its next statement now (no wait, not even a turn of the event
   * loop); else a promise that resolves when it may, and rejects when `signal` aborts meanwhile.
   */
  before(owner: string, signal?: AbortSignal): Promise<void> | undefined {
    const due = owner === '' ? undefined : this.nextStart.get(owner);
    if (due === undefined) return undefined;
    const wait = due - performance.now();
    if (wait <= 0) {
      this.nextStart.delete(owner);
      return undefined;
    }
    if (!othersUnderWay()) return undefined;
    return this.waitFor(wait, signal);
  }

  private async waitFor(wait: number, signal: AbortSignal | undefined): Promise<void> {
    this.counts.waits += 1;
    const began = performance.now();
    try {
      await sleep(Math.ceil(wait), undefined, signal ? { signal } : {});
    } catch {
      throw new QueryCancelledError();
    } finally {
      this.counts.seconds += (performance.now() - began) / 1000;
    }
  }

  /** Records that a statement of the current request, `owner`'s, held the database for `ms`, ending now. */
  after(owner: string, ms: number): void {
    const { share, costlyMs } = this.settings;
    const held = addHeldTime(ms);
    if (owner === '' || share >= 1 || held.after < costlyMs) return;
    // The statement that makes the request costly charges everything the request held so far.
    const charged = held.before < costlyMs ? held.after : ms;
    const now = performance.now();
    const from = Math.max(now, this.nextStart.get(owner) ?? now);
    this.nextStart.set(owner, Math.min(now + MAX_DEBT_MS, from + (charged * (1 - share)) / share));
  }

  stats(): PacingStats {
    return { ...this.counts };
  }
}

/**
 * Sends `statement` when `owner` may (pacing.before): in this same turn when it need not wait, as
 * without pacing; and charges the time `statement` reports holding the database (its `held` callback,
 * called once the statement has its connection or turn) to `owner` (pacing.after).
 */
export function pacedStatement<T>(
  pacing: OwnerPacing | undefined,
  owner: string,
  signal: AbortSignal | undefined,
  statement: (held: <R>(work: () => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const held = async <R>(work: () => Promise<R>): Promise<R> => {
    const began = performance.now();
    try {
      return await work();
    } finally {
      pacing?.after(owner, performance.now() - began);
    }
  };
  const run = (): Promise<T> => statement(held);
  const wait = pacing?.before(owner, signal);
  return wait ? wait.then(run) : run();
}
