import { loadConfig } from '../config';
import { openSqlClient } from '../storage/open-sql-client';
import { migrate } from '../storage/migrations';

export async function runMigrate(): Promise<number> {
  const config = loadConfig();
  const db = await openSqlClient(config);
  try {
    const ran = await migrate(db);
    process.stdout.write(
      ran.length > 0
        ? `Applied migrations ${ran.join(', ')} (${db.driver})\n`
        : `Schema is up to date (${db.driver})\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
