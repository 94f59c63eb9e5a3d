/**
 * Whether the embedded store in DATA_DIR is open in another process. PGlite is one connection in one
 * process, and a second process opening the same directory is not refused: both run, and what one
 * writes the other neither sees nor keeps (each writes its own copy of the pages back). PGlite does
 * leave a mark while a directory is open: `postmaster.pid` (measured: written on open, with pid
 * -42 whatever the process, removed by close()). Its pid says nothing, so a server killed without
 * closing leaves the mark behind; the message says how to clear it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config';

/** Why the command must not open the store now, or undefined when it may. */
export function embeddedStoreInUse(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string | undefined {
  if (config.databaseUrl) return undefined;
  const mark = join(config.dataDir, 'postmaster.pid');
  if (!existsSync(mark)) return undefined;
  return (
    `the embedded store in ${resolve(config.dataDir)} is open in another process (a running server?): ` +
    'stop the server first, then run this command and start the server again; or use PostgreSQL ' +
    '(DATABASE_URL), where this works while the server runs. If no server is running (it was killed), ' +
    `start and stop it once, or remove ${mark}`
  );
}
