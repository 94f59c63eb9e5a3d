/**
 * Fair turns on one database connection (PGlite's), between the clients whose statements wait for it.
 *
 * Each owner (a client: statement-owner.ts) carries its recent use of the connection: the milliseconds
 * its turns held it, decaying exponentially with time constant TAU_MS (a turn of 400 ms counts 400
 * now, 147 a second later). Used at a steady fraction r of the time, that figure settles at r × TAU_MS.
 * With n owners active (a turn waiting, or one ended within TAU_MS), each is entitled to 1/n of the
 * time, so an owner whose use is over TAU_MS / n is over its share.
 *
 * - The waiting turn whose owner has used least goes next (turns of one owner keep their order).
 * - A turn whose owner is over its share waits, even while the connection is free, until its use has
 *   decayed to its share, or until another owner's turn arrives (then the least-used goes first, as
 *   usual). This is what keeps a client that sends expensive statements back to back from taking the
 *   connection in every gap the others leave between their statements: a turn cannot be interrupted,
 *   so a work-conserving queue would let each of its turns in whenever the others' queue was empty for
 *   a moment, and the others would then wait out the whole turn. An owner alone is never held back.
 * - The directory's own background work (the `background` owner: the authenticator's poll of the
 *   clients every 2 s, the statistics keeper) takes its turns like any owner's, least-used first, but
 *   holds nobody back: it is not a client whose share must be kept free. It used to count as active
 *   for a second after each of its 1 ms turns, so a busy client alone was held back to half the
 *   connection for that second, the connection idle meanwhile: uncached searches under 16 connections
 *   lost a third to half of their throughput (issue 9, README "The noisy neighbour").
 *
 * How long one turn can take is bounded by the request limits and SEARCH_MAX_COST, before it starts.
 */
const TAU_MS = 1000;

interface Turn {
  work: () => Promise<void>;
}

interface Owner {
  /** Recent use in ms, as of `at`. */
  used: number;
  at: number;
  /** When its last turn ended (performance.now()). */
  lastEnd: number;
  waiting: Turn[];
}

export interface FairQueueOptions {
  /** The owner of the directory's own background work, which holds no other owner back (none when absent). */
  background?: string;
}

export class FairQueue {
  private readonly owners = new Map<string, Owner>();
  private busy = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FairQueueOptions = {}) {}

  /** Runs `work` when it is `owner`'s turn; resolves or rejects as `work` does. */
  run<T>(owner: string, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const turn: Turn = { work: () => work().then(resolve, reject) };
      let o = this.owners.get(owner);
      if (!o) {
        const now = performance.now();
        o = { used: 0, at: now, lastEnd: -Infinity, waiting: [] };
        this.owners.set(owner, o);
      }
      o.waiting.push(turn);
      this.next();
    });
  }

  private usedNow(o: Owner, now: number): number {
    return o.used * Math.exp(-(now - o.at) / TAU_MS);
  }

  private next(): void {
    if (this.busy) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = performance.now();
    let active = 0;
    let waitingOwners = 0;
    let least: [string, Owner, number] | undefined;
    for (const [name, o] of this.owners) {
      const waits = o.waiting.length > 0;
      if (name === this.options.background) {
        if (!waits && this.usedNow(o, now) < 0.01) this.owners.delete(name);
      } else if (waits || now - o.lastEnd < TAU_MS) active += 1;
      else if (this.usedNow(o, now) < 0.01) this.owners.delete(name); // nothing left to remember
      if (!waits) continue;
      waitingOwners += 1;
      const used = this.usedNow(o, now);
      if (least === undefined || used < least[2]) least = [name, o, used];
    }
    if (least === undefined) return;
    const [, o, used] = least;
    const share = TAU_MS / Math.max(1, active);
    if (waitingOwners === 1 && active > 1 && used > share) {
      // Over its share with others about: wait for its use to decay to the share (or for a turn of another).
      const wait = TAU_MS * Math.log(used / share);
      this.timer = setTimeout(() => this.next(), Math.ceil(wait));
      return;
    }
    const turn = o.waiting.shift() as Turn;
    this.busy = true;
    const began = performance.now();
    void turn.work().finally(() => {
      const ended = performance.now();
      o.used = this.usedNow(o, ended) + (ended - began);
      o.at = ended;
      o.lastEnd = ended;
      this.busy = false;
      this.next();
    });
  }
}
