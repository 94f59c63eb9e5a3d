/**
 * Store-head reads shared by every request that may share them, and by no other (response-cache.ts).
 *
 * The rule: a caller is answered with a read that started after it called, so a cached answer is
 * checked against a head no older than the request. Within that rule, a read is shared as widely as
 * it can be: it does not start the moment its first caller asks, but once the event loop has taken
 * in everything that arrived with that caller (setImmediate: after the poll phase that parsed them),
 * so a burst of requests read from one socket poll shares one read. While a read is in flight, the
 * callers that arrive wait for the next, which starts once the one in flight has finished (again
 * after the poll phase that delivered its answer, which may carry more requests): at most one read
 * in flight and one waiting, however many callers.
 *
 * Why: on PostgreSQL every cached answer waits for a head read, and a head read, though its SQL is
 * two index probes, costs a round trip and a wake-up of a backend process. Started at the first
 * caller, a burst of n requests took two reads (one for the first, one for the n-1 behind it); with
 * WORKERS=2 each worker sees half the burst and the reads per request doubled (bench/workers.js, README
 * "All cores").
 */
import type { StoreHead } from '../../storage/resource-store';

/** When a read that callers are waiting for starts: after the I/O already arrived is taken in. */
export type StartRead = (start: () => void) => void;

const afterPollPhase: StartRead = (start) => {
  setImmediate(start);
};

export class OrderedHeadReader {
  private inFlight = false;
  /** The read the next callers share: not started yet, so it will start after each of them called. */
  private next: { promise: Promise<StoreHead>; start: () => void } | undefined;
  /** Reads started, for the metrics. */
  reads = 0;

  constructor(
    private readonly readHead: () => Promise<StoreHead>,
    private readonly startLater: StartRead = afterPollPhase,
  ) {}

  read(): Promise<StoreHead> {
    if (this.next === undefined) {
      let start!: () => void;
      const promise = new Promise<StoreHead>((resolve, reject) => {
        start = (): void => {
          this.launch().then(resolve, reject);
        };
      });
      this.next = { promise, start };
      // With a read in flight, the next one starts when that one has finished (launch).
      if (!this.inFlight) this.schedule();
    }
    return this.next.promise;
  }

  /** Starts the waiting read later; from then on, new callers wait for another. */
  private schedule(): void {
    this.startLater(() => {
      const next = this.next;
      if (next === undefined) return;
      this.next = undefined;
      next.start();
    });
  }

  private launch(): Promise<StoreHead> {
    this.reads += 1;
    this.inFlight = true;
    let read: Promise<StoreHead>;
    try {
      read = this.readHead();
    } catch (err) {
      read = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const settled = (): void => {
      this.inFlight = false;
      if (this.next !== undefined) this.schedule();
    };
    read.then(settled, settled);
    return read;
  }
}
