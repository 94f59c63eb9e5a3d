/**
 * PGlite on a thread of its own (node:worker_threads), in this process. PGlite runs Postgres in WASM,
 * synchronously: on the main thread a statement blocked the event loop for as long as it ran, so one
 * client's expensive search stalled every other request, even answers from the response cache that
 * need no statement at all (bench/noisy-neighbour.js, PGlite: cached searches kept 3-5 % of their
 * throughput next to the worst accepted search; a CPU profile of the server showed half its time in
 * WASM). On its own thread a statement no longer holds the event loop: the main thread goes on
 * reading requests, answering cache hits and building responses while the database works.
 *
 * The thread is one connection, as before: pglite-client.ts still queues statements and transactions
 * onto it one at a time. It is still one process (the data directory is opened once, by this thread).
 *
 * The thread's code is `threadMain` below, run from its source text (`eval`): it imports nothing of
 * ours, so it runs the same from dist/ and under jest (which compiles src/ in memory, leaving no file a
 * worker could load). The packages it needs are resolved here and passed as absolute paths.
 */
import { Worker } from 'node:worker_threads';
import type { SqlValue } from './sql-client';

/** One field of a result, as PGlite describes it. */
export interface ThreadField {
  name: string;
  dataTypeID: number;
}

export interface ThreadResult<Row> {
  rows: Row[];
  fields: ThreadField[];
}

/** What the thread is told to run. */
type JobBody =
  | { kind: 'query'; text: string; params: SqlValue[] | undefined }
  | { kind: 'exec'; text: string }
  | { kind: 'close' };
type Job = JobBody & { id: number };

/** What the thread answers: a result, or an error's message and own fields (code, detail, ...). */
type Reply =
  | { id: number; result: ThreadResult<unknown> }
  | { id: number; error: { message: string; fields: Record<string, unknown> } };

interface ThreadData {
  pglite: string;
  trgm: string;
  dataDir: string | undefined;
  /** Type OIDs whose text is passed through unparsed (the main thread parses them). */
  rawTypes: number[];
}

/**
 * The thread's code. It must stay self-contained (no imports, no helpers from outside): it is run
 * from its source text.
 */
function threadMain(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = threads.workerData as ThreadData;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require(data.pglite) as typeof import('@electric-sql/pglite');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pg_trgm } = require(data.trgm) as { pg_trgm: import('@electric-sql/pglite').Extension };
  const port = threads.parentPort!;
  const raw = (text: string): string => text;
  const db = new PGlite({
    ...(data.dataDir === undefined ? {} : { dataDir: data.dataDir }),
    extensions: { pg_trgm },
    parsers: Object.fromEntries(data.rawTypes.map((oid) => [oid, raw])),
  });
  const fail = (id: number, err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e))
      if (typeof v !== 'function' && typeof v !== 'object') fields[k] = v;
    port.postMessage({ id, error: { message: e.message, fields } });
  };
  db.waitReady.then(
    () => port.postMessage({ ready: true }),
    (err: unknown) => fail(0, err),
  );
  port.on('message', (job: Job) => {
    const work =
      job.kind === 'query'
        ? db.query(job.text, job.params).then((r) => ({ rows: r.rows, fields: r.fields }))
        : job.kind === 'exec'
          ? db.exec(job.text).then(() => ({ rows: [], fields: [] }))
          : db.close().then(() => ({ rows: [], fields: [] }));
    work.then(
      (result) => port.postMessage({ id: job.id, result }),
      (err: unknown) => fail(job.id, err),
    );
  });
}

/** An error from the thread, rebuilt with its fields (code, detail, constraint, ...) as PGlite had them. */
function rebuiltError(error: { message: string; fields: Record<string, unknown> }): Error {
  return Object.assign(new Error(error.message), error.fields);
}

export interface PgliteThread {
  query<Row>(text: string, params?: SqlValue[]): Promise<ThreadResult<Row>>;
  exec(text: string): Promise<void>;
  /** Closes the database (writing it back to its directory) and ends the thread. */
  close(): Promise<void>;
}

/** Starts PGlite on its own thread over `dataDir` (in memory when undefined); resolves once it is ready. */
export async function startPgliteThread(
  dataDir: string | undefined,
  rawTypes: number[],
): Promise<PgliteThread> {
  const data: ThreadData = {
    pglite: require.resolve('@electric-sql/pglite'),
    trgm: require.resolve('@electric-sql/pglite/contrib/pg_trgm'),
    dataDir,
    rawTypes,
  };
  const worker = new Worker(`(${threadMain.toString()})()`, { eval: true, workerData: data });
  const pending = new Map<
    number,
    { resolve: (r: ThreadResult<unknown>) => void; reject: (e: unknown) => void }
  >();
  let nextId = 1;
  let exited: Error | undefined;

  await new Promise<void>((resolve, reject) => {
    const onMessage = (msg: { ready?: true } | Reply): void => {
      worker.off('error', reject);
      if ('error' in msg) reject(rebuiltError(msg.error));
      else resolve();
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
  });
  worker.on('message', (msg: Reply) => {
    const waiter = pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (pending.size === 0) worker.unref();
    if ('error' in msg) waiter.reject(rebuiltError(msg.error));
    else waiter.resolve(msg.result);
  });
  const failAll = (err: Error): void => {
    exited = err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the PGlite thread exited (code ${code})`)));

  // The thread keeps the process alive only while it has work: an idle store must not hold a
  // finished CLI command open (PGlite on the main thread never did).
  worker.unref();
  function send<Row>(job: JobBody): Promise<ThreadResult<Row>> {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<ThreadResult<Row>>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve as (r: ThreadResult<unknown>) => void, reject });
      worker.postMessage({ ...job, id });
    });
  }

  return {
    query: <Row>(text: string, params?: SqlValue[]) => send<Row>({ kind: 'query', text, params }),
    exec: async (text: string) => {
      await send({ kind: 'exec', text });
    },
    async close() {
      await send({ kind: 'close' });
      await worker.terminate();
    },
  };
}
