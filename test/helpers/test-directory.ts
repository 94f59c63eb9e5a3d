/**
 * Starts the real directory on a free port on 127.0.0.1 over a real database: PGlite on a fresh copy
 * of the run's migrated template directory (pglite-template.ts; in memory when there is none), or,
 * when DATABASE_URL is set, a fresh PostgreSQL schema of its own that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openStore, startDirectory, type RunningDirectory, type StoreOptions } from '../../src/directory';
import type { RequestLimits } from '../../src/fhir/limits';
import { createLogger } from '../../src/logger';
import type { ResourceStore } from '../../src/storage/resource-store';
import { openTemplateCopy } from './pglite-template';
import { CONFIG_VARIABLES } from '../../src/config';
import type { ReadAccess } from '../../src/security/access-control';
import { registerClient, tokenFor, type TestClient } from './auth';
import { useTokenFor } from './fhir-client';

export interface TestDirectory extends RunningDirectory {
  url(path: string): string;
  /**
   * The directory's admin client (bound to no Organization, `system/*.cruds`), whose token `call()`
   * (fhir-client.ts) sends with every request to this directory unless told otherwise.
   */
  admin: TestClient;
  /** A current token of the admin client (minted again a minute before it expires). */
  adminToken(): Promise<string>;
  /**
   * Another store on this directory's database, as a second server process would open it: on
   * PostgreSQL a pool of its own on the same schema; on PGlite (one process, one connection) this
   * same store, whose close() then does nothing.
   */
  openSecondStore(): Promise<ResourceStore>;
}

export interface TestDirectoryOptions {
  seed?: boolean;
  maxBodyBytes?: number;
  /** SEARCH_CACHE_MB (the default when absent; 0 turns the response cache off). */
  searchCacheMb?: number;
  /** ENFORCE_PROFILES (true when absent): search-semantics tests store data the profiles refuse. */
  enforceProfiles?: boolean;
  /** Request limits (DEFAULT_LIMITS for any absent). */
  limits?: Partial<RequestLimits>;
  /** Serve this store instead of opening one (closed with the directory). */
  store?: ResourceStore;
  /** READ_ACCESS (`public` when absent). */
  readAccess?: ReadAccess;
  /** WRITE_RATE_PER_MINUTE (its default when absent). */
  writeRatePerMinute?: number;
  /** TOKEN_RATE_PER_MINUTE (its default when absent; 0: no limit). */
  tokenRatePerMinute?: number;
  /** EXPORT_MAX_JOBS and EXPORT_RETENTION_MINUTES (their defaults when absent). */
  exportMaxJobs?: number;
  exportRetentionMinutes?: number;
  /** EXPORT_RUN_JOBS (true when absent), and the rows an export job counts per statement. */
  exportRunJobs?: boolean;
  exportPageRows?: number;
  /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS (no pacing when absent, unlike `serve`). */
  pacing?: StoreOptions['pacing'];
}

export const onPostgres = (): boolean => Boolean(process.env.DATABASE_URL);

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A store of its own: PGlite on a copy of the template (removed by the returned cleanup) or in memory, or a fresh schema on PostgreSQL (dropped by it). */
export interface TestStore {
  store: ResourceStore;
  cleanup: () => Promise<void>;
  /** See TestDirectory.openSecondStore. */
  openSecondStore: () => Promise<ResourceStore>;
}

export async function openTestStore(options: Pick<StoreOptions, 'pacing'> = {}): Promise<TestStore> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const copied = await openTemplateCopy(options);
    if (copied) {
      return {
        store: copied.store,
        cleanup: copied.remove,
        openSecondStore: () => Promise.resolve({ ...copied.store, close: () => Promise.resolve() }),
      };
    }
    const store = await openStore(options);
    return {
      store,
      cleanup: () => Promise.resolve(),
      openSecondStore: () => Promise.resolve({ ...store, close: () => Promise.resolve() }),
    };
  }
  const schema = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE SCHEMA ${schema}`));
  const store = await openStore({ ...options, databaseUrl, searchPath: schema });
  return {
    store,
    cleanup: () => withAdmin((c) => c.query(`DROP SCHEMA ${schema} CASCADE`)).then(() => undefined),
    openSecondStore: () => openStore({ databaseUrl, searchPath: schema }),
  };
}

export async function startTestDirectory(options: TestDirectoryOptions = {}): Promise<TestDirectory> {
  const opened: TestStore = options.store
    ? {
        store: options.store,
        cleanup: () => Promise.resolve(),
        openSecondStore: () => Promise.reject(new Error('not for a directory over a given store')),
      }
    : await openTestStore(options.pacing ? { pacing: options.pacing } : {});
  const { store, cleanup } = opened;
  const directory = await startDirectory(
    {
      port: 0,
      host: '127.0.0.1',
      maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
      seed: options.seed ?? false,
      ...(options.searchCacheMb === undefined ? {} : { searchCacheMb: options.searchCacheMb }),
      ...(options.enforceProfiles === undefined ? {} : { enforceProfiles: options.enforceProfiles }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.readAccess === undefined ? {} : { readAccess: options.readAccess }),
      ...(options.writeRatePerMinute === undefined ? {} : { writeRatePerMinute: options.writeRatePerMinute }),
      ...(options.tokenRatePerMinute === undefined ? {} : { tokenRatePerMinute: options.tokenRatePerMinute }),
      ...(options.exportMaxJobs === undefined ? {} : { exportMaxJobs: options.exportMaxJobs }),
      ...(options.exportRetentionMinutes === undefined
        ? {}
        : { exportRetentionMinutes: options.exportRetentionMinutes }),
      ...(options.exportRunJobs === undefined ? {} : { exportRunJobs: options.exportRunJobs }),
      ...(options.exportPageRows === undefined ? {} : { exportPageRows: options.exportPageRows }),
    },
    createLogger('silent'),
    store,
  );
  const admin = await registerClient(directory, {
    name: 'test admin',
    admin: true,
    scopes: ['system/*.cruds'],
  });
  const adminToken = tokenKeeper(directory, admin);
  const stopUsingToken = useTokenFor(directory.baseUrl, adminToken);
  return {
    ...directory,
    url: (path: string) => `${directory.baseUrl}${path}`,
    openSecondStore: opened.openSecondStore,
    admin,
    adminToken,
    async close() {
      stopUsingToken();
      await directory.close();
      await cleanup();
    },
  };
}

/** A client's token, minted when first asked for and again once it has less than a minute to live. */
function tokenKeeper(directory: RunningDirectory, client: TestClient): () => Promise<string> {
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (!current || Date.now() >= current.renewAt) {
      const token = await tokenFor(directory, client);
      const ttl = CONFIG_VARIABLES.ACCESS_TOKEN_TTL_SECONDS.default;
      current = { token, renewAt: Date.now() + (ttl - 60) * 1000 };
    }
    return current.token;
  };
}
