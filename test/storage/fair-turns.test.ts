/**
 * Fair turns on the database (issue 9, the noisy neighbour). The queue's own rules (fair-queue.ts):
 * the least-used owner goes first, and an owner over its share of the connection waits for the others
 * even while the connection is free. Then on the real server: on PGlite a statement runs on a thread
 * of its own (pglite-thread.ts), so an answer from the response cache is served while a long
 * statement runs; and a client's statements are told apart from another's by its address.
 */
import { FairQueue } from '../../src/storage/fair-queue';
import { createPostgresStore } from '../../src/storage/postgres-store';
import type { SqlClient } from '../../src/storage/sql-client';
import { call } from '../helpers/fhir-client';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

/** A turn the test ends by hand, recording when it started and ended. */
function heldTurn(log: string[], name: string): { work: () => Promise<void>; end: () => void } {
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    work: async () => {
      log.push(`${name} starts`);
      await ended;
      log.push(`${name} ends`);
    },
    end: () => end(),
  };
}

const turn = (log: string[], name: string) => (): Promise<void> => {
  log.push(`${name} runs`);
  return Promise.resolve();
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('FairQueue', () => {
  it('runs one turn at a time, and the owner that has used least goes first', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    const a1 = heldTurn(log, 'a1');
    const done = [queue.run('a', a1.work), queue.run('a', turn(log, 'a2')), queue.run('b', turn(log, 'b1'))];
    await sleep(5);
    expect(log).toEqual(['a1 starts']); // a2 and b1 wait while a1 holds the connection
    a1.end();
    await Promise.all(done);
    // a has used the connection (a1), b has not: b1 goes before a2, though a2 came first.
    expect(log).toEqual(['a1 starts', 'a1 ends', 'b1 runs', 'a2 runs']);
  });

  it("holds back an owner over its share while another is active, even with the connection free, and runs the other's turn first", async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    await queue.run('light', turn(log, 'light0')); // light is active: it had a turn within the last second
    // heavy holds the connection for 600 ms: more than its half of the last second.
    await queue.run('heavy', () => sleep(600).then(() => void log.push('heavy1 runs')));
    const heavy2 = queue.run('heavy', turn(log, 'heavy2')); // queued first, with nothing else waiting
    const light1 = queue.run('light', turn(log, 'light1'));
    await Promise.all([heavy2, light1]);
    expect(log).toEqual(['light0 runs', 'heavy1 runs', 'light1 runs', 'heavy2 runs']);
  });

  it('never holds back an owner alone', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    await queue.run('heavy', () => sleep(600).then(() => void log.push('heavy1 runs')));
    await queue.run('heavy', turn(log, 'heavy2'));
    expect(log).toEqual(['heavy1 runs', 'heavy2 runs']);
  });

  it("is held back by no turn of the directory's own background work, which still goes first when it waits", async () => {
    const queue = new FairQueue({ background: '' });
    const log: string[] = [];
    await queue.run('', turn(log, 'poll0')); // the authenticator's poll: a turn within the last second
    await queue.run('heavy', () => sleep(600).then(() => void log.push('heavy1 runs')));
    // Over half of the last second, but the background is not a client to keep a share free for.
    const began = performance.now();
    await queue.run('heavy', turn(log, 'heavy2'));
    expect(performance.now() - began).toBeLessThan(200); // held back, it would wait ~500 ms
    const heavy3 = heldTurn(log, 'heavy3');
    const held = queue.run('heavy', heavy3.work);
    await sleep(5); // heavy3 holds the connection
    const queued = [queue.run('heavy', turn(log, 'heavy4')), queue.run('', turn(log, 'poll1'))];
    heavy3.end();
    await Promise.all([held, ...queued]);
    expect(log).toEqual([
      'poll0 runs',
      'heavy1 runs',
      'heavy2 runs',
      'heavy3 starts',
      'heavy3 ends',
      'poll1 runs',
      'heavy4 runs',
    ]);
  });

  it("passes on a turn's error to its caller only, and goes on with the next", async () => {
    const queue = new FairQueue();
    const failing = queue.run('a', () => Promise.reject(new Error('no')));
    const next = queue.run('b', () => Promise.resolve('yes'));
    await expect(failing).rejects.toThrow('no');
    await expect(next).resolves.toBe('yes');
  });
});

describe('a long statement on the database', () => {
  let own: OwnDatabase;
  let db: SqlClient;
  let dir: TestDirectory;
  beforeAll(async () => {
    own = await openOwnDatabase();
    db = own.db;
    dir = await startTestDirectory({ store: createPostgresStore(db) });
  });
  afterAll(async () => {
    await dir.close();
    await own.cleanup();
  });

  it('does not hold up an answer from the response cache (PGlite: the statement runs on its own thread)', async () => {
    const url = dir.url('/Organization?name=nothing-like-this');
    expect((await call('GET', url)).status).toBe(200);
    const again = await call('GET', url);
    expect(again.headers.get('x-cache')).toBe('hit');
    let slept = false;
    const long = db.query('SELECT pg_sleep(1.5) AS slept').then(() => (slept = true));
    await sleep(100); // the statement is under way
    const hit = await call('GET', url);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(slept).toBe(false); // answered while the statement was still running
    await long;
  });
});
