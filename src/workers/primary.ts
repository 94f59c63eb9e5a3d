/**
 * The cluster primary for WORKERS > 1 (node:cluster): it serves nothing and opens no database. It
 * starts one worker first and waits until that one listens: that worker ran the migrations (under
 * the migration lock, as any process does) and loaded the seed into an empty store, so the others,
 * started next, find both done. The workers share the port (the primary hands connections round
 * robin). SIGTERM or SIGINT is passed to every worker, each of which finishes its requests in flight
 * and closes its database as a single server does; the primary exits when all have. A worker that
 * dies while serving is replaced, at most MAX_RESTARTS times in RESTART_WINDOW_MS; past that, or when
 * the first worker fails to start, the primary stops them all and exits 1. A worker's /metrics asks the
 * primary for every worker's metrics combined (cluster-metrics.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logger';
import { answerMetricsRequests } from './cluster-metrics';

/** What a worker sends its primary once it listens (main.ts). */
export const LISTENING_MESSAGE = 'fhir-directory:listening';

export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;
/** How long the workers have to finish after SIGTERM before they are killed. */
export const SHUTDOWN_GRACE_MS = 15_000;

const isListening = (message: unknown): boolean => message === LISTENING_MESSAGE;

/** Starts one worker and resolves once it listens; rejects with its exit code when it exits first. */
function startWorker(): Promise<Worker> {
  const worker = cluster.fork();
  return new Promise((resolve, reject) => {
    const exited = (code: number | null, signal: string | null): void =>
      reject(
        Object.assign(new Error(`worker exited before it listened (${signal ?? `code ${code}`})`), { code }),
      );
    worker.once('exit', exited);
    worker.on('message', (message: unknown) => {
      if (!isListening(message)) return;
      worker.off('exit', exited);
      resolve(worker);
    });
  });
}

export async function runPrimary(count: number, logger: Logger): Promise<void> {
  let stopping = false;
  const restarts: number[] = [];

  const stopAll = (exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(exitCode);
    const force = setTimeout(() => {
      logger.error('workers did not stop in time; killing them');
      for (const w of workers) w.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    let left = workers.length;
    for (const w of workers) {
      w.once('exit', () => {
        left -= 1;
        if (left === 0) process.exit(exitCode);
      });
      w.process.kill('SIGTERM');
    }
  };

  const watch = (worker: Worker): void => {
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger.error(
          { worker: worker.process.pid, code, signal, restarts: restarts.length },
          `workers died more than ${MAX_RESTARTS} times in ${RESTART_WINDOW_MS / 1000} s; stopping`,
        );
        stopAll(1);
        return;
      }
      logger.warn({ worker: worker.process.pid, code, signal }, 'a worker died; starting another');
      startWorker().then(watch, (err: unknown) => {
        logger.error({ err }, 'a replacement worker failed to start; stopping');
        stopAll(1);
      });
    });
  };

  process.once('SIGTERM', () => {
    logger.info({ signal: 'SIGTERM' }, 'shutting down the workers');
    stopAll(0);
  });
  process.once('SIGINT', () => {
    logger.info({ signal: 'SIGINT' }, 'shutting down the workers');
    stopAll(0);
  });

  answerMetricsRequests();
  logger.info({ workers: count }, 'starting the first worker (migrations and seed), then the others');
  let first: Worker;
  try {
    first = await startWorker();
  } catch (err) {
    logger.error({ err }, 'the first worker failed to start');
    stopAll((err as { code?: number }).code || 1);
    return;
  }
  watch(first);
  const rest = await Promise.allSettled(Array.from({ length: count - 1 }, () => startWorker()));
  for (const started of rest) {
    if (started.status === 'fulfilled') watch(started.value);
    else {
      logger.error({ err: started.reason as unknown }, 'a worker failed to start; stopping');
      stopAll(1);
      return;
    }
  }
  if (!stopping) logger.info({ workers: count }, 'all workers listening');
}
