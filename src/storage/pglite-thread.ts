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
 * What crosses between the threads is the Postgres wire protocol, as bytes (pglite-wire.ts): the main
 * thread sends one message buffer per statement (Parse, Bind, Describe, Execute, Sync), the thread hands
 * it to PGlite's execProtocolRawStream in one call and posts the response bytes back, transferred, not
 * cloned. The thread parses nothing. It used to call PGlite's query(): six calls into WASM per
 * statement, every row parsed into objects on the thread, the rows then structured-cloned to the main
 * thread: +0.1 ms CPU for `SELECT $1` and +0.3 ms for a 20-row content read over PGlite on the main
 * thread, a 23 % loss of throughput on the cheapest uncached searches under load. Measured with
 * bench/pglite-statement-cpu.js (CPU of both threads per statement, 4 alternating runs on a busy
 * 2-core machine), `SELECT $1::int` / 20 rows of 2 KB: this 0.19-0.24 / 0.65-0.84 ms, query() on
 * this thread 0.41-0.45 / 1.19-1.35 ms, PGlite on the main thread (689e699) 0.32-0.35 / 0.84-0.99 ms.
 *
 * The thread's code is `threadMain` below, run from its source text (`eval`): it imports nothing of
 * ours, so it runs the same from dist/ and under jest (which compiles src/ in memory, leaving no file a
 * worker could load). The packages it needs are resolved here and passed as absolute paths.
 */
import { Worker } from 'node:worker_threads';

/** What the thread is told to run: wire-protocol bytes for PGlite, or its close. */
type JobBody = { kind: 'raw'; bytes: Uint8Array } | { kind: 'close' };
type Job = JobBody & { id: number };

/**
 * What the thread answers: the response bytes (errors of SQL are in them, as ErrorResponse messages),
 * or a JavaScript error's message and own fields.
 */
type Reply =
  | { id: number; bytes: Uint8Array }
  | { id: number; error: { message: string; fields: Record<string, unknown> } };

interface ThreadData {
  pglite: string;
  trgm: string;
  dataDir: string | undefined;
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
  const db = new PGlite({
    ...(data.dataDir === undefined ? {} : { dataDir: data.dataDir }),
    extensions: { pg_trgm },
  });
  const fail = (id: number, err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e))
      if (typeof v !== 'function' && typeof v !== 'object') fields[k] = v;
    port.postMessage({ id, error: { message: e.message, fields } });
  };
  /**
   * Runs `bytes` in one call into PGlite and returns the whole response, in an ArrayBuffer of its own.
   * execProtocolRawStream hands over each chunk as a view of WASM memory, reused at once: copied here.
   * (execProtocolRaw would also parse every message on this thread, and keep them: its default
   * receiver appends them to a result list that only execProtocol() clears.) No syncToFs: PGlite's
   * filesystems in Node (in memory, and NodeFS for a data directory) write through, their syncToFs
   * does nothing, and awaiting it cost 0.03-0.04 ms CPU a statement. With it off the call runs to its
   * end before its first await, so no two statements can interleave here (no mutex needed).
   */
  const runRaw = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    await db.execProtocolRawStream(bytes, {
      syncToFs: false,
      onRawData: (chunk: Uint8Array) => {
        chunks.push(chunk.slice());
        length += chunk.length;
      },
    });
    if (chunks.length === 1) return chunks[0]!;
    const all = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  };
  db.waitReady.then(
    () => port.postMessage({ ready: true }),
    (err: unknown) => fail(0, err),
  );
  port.on('message', (job: Job) => {
    if (job.kind === 'raw')
      runRaw(job.bytes).then(
        (bytes) => port.postMessage({ id: job.id, bytes }, [bytes.buffer as ArrayBuffer]),
        (err: unknown) => fail(job.id, err),
      );
    else
      db.close().then(
        () => port.postMessage({ id: job.id, bytes: new Uint8Array(0) }),
        (err: unknown) => fail(job.id, err),
      );
  });
}

/** An error from the thread, rebuilt with its fields as it had them. */
function rebuiltError(error: { message: string; fields: Record<string, unknown> }): Error {
  return Object.assign(new Error(error.message), error.fields);
}

export interface PgliteThread {
  /**
   * Runs wire-protocol messages (pglite-wire.ts builds them) and resolves with PGlite's response bytes.
   * `bytes` is transferred to the thread: unusable here afterwards.
   */
  run(bytes: Uint8Array): Promise<Uint8Array>;
  /** Closes the database (writing it back to its directory) and ends the thread. */
  close(): Promise<void>;
}

/** Starts PGlite on its own thread over `dataDir` (in memory when undefined); resolves once it is ready. */
export async function startPgliteThread(dataDir: string | undefined): Promise<PgliteThread> {
  const data: ThreadData = {
    pglite: require.resolve('@electric-sql/pglite'),
    trgm: require.resolve('@electric-sql/pglite/contrib/pg_trgm'),
    dataDir,
  };
  const worker = new Worker(`(${threadMain.toString()})()`, { eval: true, workerData: data });
  const pending = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (e: unknown) => void }>();
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
    else waiter.resolve(msg.bytes);
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
  function send(job: JobBody): Promise<Uint8Array> {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      if (job.kind === 'raw') worker.postMessage({ ...job, id }, [job.bytes.buffer as ArrayBuffer]);
      else worker.postMessage({ ...job, id });
    });
  }

  return {
    run: (bytes: Uint8Array) => send({ kind: 'raw', bytes }),
    async close() {
      await send({ kind: 'close' });
      await worker.terminate();
    },
  };
}
