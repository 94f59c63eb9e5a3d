/**
 * How many server processes WORKERS asks for on this store. node:cluster shares one port between
 * them; each has its own pool, response cache and hit lane. Only on PostgreSQL: the embedded PGlite
 * store is a single connection in one process (its data directory cannot be opened by two), so there
 * the directory serves with one process and says so, whatever WORKERS says.
 */
import { availableParallelism } from 'node:os';

export interface WorkerPlan {
  /** Server processes to run; 1: no cluster, the process serves itself. */
  count: number;
  /** What to tell the operator about the choice, when it is not what WORKERS says. */
  note?: { level: 'info' | 'warn'; msg: string };
}

export function planWorkers(
  workers: number | 'auto',
  onPostgres: boolean,
  cores: number = availableParallelism(),
): WorkerPlan {
  if (onPostgres) return { count: workers === 'auto' ? Math.max(1, cores) : workers };
  if (workers === 1) return { count: 1 };
  const why = 'the embedded PGlite store is one connection in one process';
  return workers === 'auto'
    ? {
        count: 1,
        note: { level: 'info', msg: `WORKERS=auto: ${why}, so the directory serves with one process` },
      }
    : {
        count: 1,
        note: {
          level: 'warn',
          msg: `WORKERS=${workers} needs PostgreSQL (DATABASE_URL): ${why}, so the directory serves with one process`,
        },
      };
}
