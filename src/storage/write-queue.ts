/**
 * Writers take turns in this process before they ask for a database connection. Every write waits
 * for the one advisory write lock anyway; queueing here instead of in the database means at most one
 * pooled connection per process is held by a writer (waiting for or holding that lock), and the rest
 * of the pool stays free for reads however many writes queue up. The advisory lock still orders
 * writers of different processes.
 */
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work, work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
