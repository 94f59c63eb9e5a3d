/**
 * Writers take turns in this process before they ask for a database connection. Every write waits
 * for the one advisory write lock anyway; queueing here instead of in the database means at most one
 * pooled connection per process is held by a writer (waiting for or holding that lock), and the rest
 * of the pool stays free for reads however many writes queue up. The advisory lock still orders
 * writers of different processes.
 *
 * Each turn starts after a pass of the event loop (setImmediate): requests that arrived while the
 * previous writer ran get in first. On PGlite, whose one connection runs each statement on this
 * thread, queued write transactions would otherwise follow one another with no I/O in between, and
 * reads would wait for the whole queue.
 *
 * How long each writer waited for its turn is kept in `waits` (read by /metrics).
 */
import { DurationHistogram, secondsSince } from '../observability/duration-histogram';

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** From run() to the start of the writer's turn, in seconds. */
  readonly waits = new DurationHistogram();

  /** Writers waiting for their turn now (not counting the one whose turn it is). */
  get waiting(): number {
    return this.queued;
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    const queued = process.hrtime.bigint();
    this.queued += 1;
    const next = (): Promise<T> =>
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.queued -= 1;
        this.waits.observe(secondsSince(queued));
        return work();
      });
    const turn = this.tail.then(next, next);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
