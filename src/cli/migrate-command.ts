import { loadConfig } from '../config';
import { openSqlClient } from '../storage/open-sql-client';
import { migrate } from '../storage/migrations';
import type { CliIo } from './cli-io';

export async function runMigrate(io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const db = await openSqlClient(config);
  try {
    const ran = await migrate(db);
    io.stdout.write(
      ran.length > 0
        ? `Applied migrations ${ran.join(', ')} (${db.driver})\n`
        : `Schema is up to date (${db.driver})\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
