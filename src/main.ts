/**
 * Composition root: config → logger → directory → graceful shutdown on SIGTERM/SIGINT. With
 * WORKERS > 1 on PostgreSQL this process becomes the cluster primary (workers/primary.ts) and each
 * worker runs this same file as a single server.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config';
import { startDirectory } from './directory';
import { createLogger } from './logger';
import { LISTENING_MESSAGE, runPrimary } from './workers/primary';
import { planWorkers } from './workers/worker-plan';

export async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (cluster.isPrimary) {
    const plan = planWorkers(config.workers, config.databaseUrl !== undefined);
    if (plan.note) logger[plan.note.level](plan.note.msg);
    if (plan.count > 1) {
      await runPrimary(plan.count, logger);
      return;
    }
  }
  const directory = await startDirectory(config, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    directory.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  if (cluster.isWorker) {
    // A worker whose primary is gone has nobody to hand it connections or stop it: it stops.
    process.once('disconnect', () => stop('primary gone'));
    process.send?.(LISTENING_MESSAGE);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `fhir-directory failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
