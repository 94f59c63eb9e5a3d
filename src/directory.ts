/**
 * Builds a running directory from its configuration: database, migrations, store, validator, seed
 * and HTTP server. main.ts, the CLI and the tests all start the directory through here.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CONFIG_VARIABLES, type Config, type DiscoveryConfig } from './config';
import { fetchOptions } from './discovery/discovery-options';
import { type DiscoverySchedule, startDiscoverySchedule } from './discovery/discovery-schedule';
import type { FhirContext } from './fhir/context';
import { DEFAULT_LIMITS, type RequestLimits } from './fhir/limits';
import { KEY_MEMO_SHARE, ResponseCache } from './fhir/search/response-cache';
import { loadR4Definitions } from './fhir/definitions';
import { buildCapabilityStatement } from './fhir/interactions/capabilities';
import { AuditEventSink } from './fhir/audit-event-sink';
import { createResourceValidator } from './fhir/validation/resource-validator';
import { createValidationThreads } from './fhir/validation/validation-threads';
import { directoryProfiles, profileCheck } from './fhir/profiles/register-profiles';
import { createApp } from './http/app';
import { createMetricsRegistry, RequestMetrics, type MetricsSource } from './http/metrics';
import type { Registry } from 'prom-client';
import cluster from 'node:cluster';
import { JobMetrics } from './observability/job-metrics';
import { clusterMetricsSource } from './workers/cluster-metrics';
import { countInFlight } from './http/in-flight';
import { listen } from './http/server';
import { checkReadiness } from './observability/readiness';
import { ExportRunner } from './export/export-runner';
import { importResources, type ImportReport } from './import/import-resources';
import { readImportFile } from './import/read-import-file';
import type { Logger } from './logger';
import { migrate } from './storage/migrations';
import { openSqlClient } from './storage/open-sql-client';
import type { PacingSettings } from './storage/owner-pacing';
import { createPostgresStore } from './storage/postgres-store';
import type { ResourceStore } from './storage/resource-store';
import { tokenEndpointOf } from './security/access-control';
import { Authenticator } from './security/authenticator';
import { RateLimiter } from './security/rate-limiter';
import { startFollowers } from './sync/followers';
import { type RefreshSchedule, startSourceRefresh } from './sources/source-refresh-schedule';
import type { SyncSourceSettings } from './sync/source-settings';

export const SEED_FILE = join(__dirname, '..', 'seed-data', 'directory.json');

const SOFTWARE = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

export interface StoreOptions {
  databaseUrl?: string;
  /** PGlite data directory; undefined keeps PGlite in memory. */
  dataDir?: string;
  searchPath?: string;
  /** STATEMENT_TIMEOUT_MS: the longest one SQL statement may run (0: no limit). */
  statementTimeoutMs?: number;
  /** DB_ACQUIRE_TIMEOUT_MS: the longest a request waits for a database connection before a 503. */
  dbAcquireTimeoutMs?: number;
  /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS (owner-pacing.ts); no pacing when absent. */
  pacing?: PacingSettings;
}

/** Opens the database, runs pending migrations and returns the store. */
export async function openStore(options: StoreOptions, logger?: Logger): Promise<ResourceStore> {
  const db = await openSqlClient(options);
  try {
    const ran = await migrate(db);
    if (ran.length > 0) logger?.info({ migrations: ran, driver: db.driver }, 'applied schema migrations');
  } catch (err) {
    await db.close();
    throw err;
  }
  return createPostgresStore(db, {
    onBackgroundError: (err) => logger?.warn({ err }, 'background ANALYZE failed; the next pass retries'),
  });
}

export interface ContextOptions {
  /** Memory for the search response cache; 0 or absent: no cache. */
  searchCacheBytes?: number;
  /** false: writes are checked against base R4 only (ENFORCE_PROFILES=false); $validate still uses the profiles. */
  enforceProfiles?: boolean;
  /** Request limits; DEFAULT_LIMITS for any not given. */
  limits?: Partial<RequestLimits>;
  /** VALIDATION_THREADS: threads the bulk paths validate on; 0 or absent: none (validated here). */
  validationThreads?: number;
}

export function createFhirContext(
  store: ResourceStore,
  baseUrl: string,
  options: ContextOptions = {},
): FhirContext {
  loadR4Definitions();
  const profiles = directoryProfiles();
  const enforce = options.enforceProfiles ?? true;
  const validator = createResourceValidator(enforce ? [profileCheck(profiles)] : []);
  const limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
  const ctx: FhirContext = {
    store,
    validator,
    baseUrl,
    profiles,
    enforceProfiles: enforce,
    limits,
    jobMetrics: new JobMetrics(),
  };
  if (options.validationThreads)
    ctx.validationThreads = createValidationThreads(options.validationThreads, validator, {
      enforceProfiles: enforce,
    });
  const cacheBytes = options.searchCacheBytes ?? 0;
  if (cacheBytes > 0)
    ctx.responseCache = new ResponseCache({
      readHead: () => store.head(),
      maxBytes: cacheBytes,
      typesChanged: (after, upto) => store.typesChanged(after, upto),
      keyMemoBytes: Math.floor(cacheBytes * KEY_MEMO_SHARE),
    });
  return ctx;
}

/** Loads seed-data/ into an empty store; a store with anything in it is left alone. */
export async function seedIfEmpty(
  ctx: FhirContext,
  logger: Logger,
  file = SEED_FILE,
): Promise<ImportReport | undefined> {
  if ((await ctx.store.count()) > 0) return undefined;
  const report = await importResources(ctx, await readImportFile(file), { fileName: basename(file) });
  logger.info(
    { created: report.created, rejected: report.rejected.length },
    'loaded seed data into the empty store',
  );
  for (const r of report.rejected)
    logger.warn({ resource: r.resource, reasons: r.reasons }, 'seed resource rejected');
  return report;
}

/** A worker's /metrics speaks for the whole cluster (WORKERS > 1); a single process's for itself. */
const wholeServer = (registry: Registry): MetricsSource =>
  cluster.isWorker ? clusterMetricsSource(registry) : registry;

export interface RunningDirectory {
  server: Server;
  baseUrl: string;
  store: ResourceStore;
  ctx: FhirContext;
  /** The express application; the server's request listener puts the hit lane before it. */
  app: Express;
  /** Stops taking requests, lets the ones in flight finish, then closes the database. */
  close(): Promise<void>;
}

export type DirectoryConfig = Pick<Config, 'port' | 'host' | 'maxBodyBytes' | 'seed'> &
  Partial<
    Pick<
      Config,
      | 'readAccess'
      | 'accessTokenTtlSeconds'
      | 'tokenRatePerMinute'
      | 'writeRatePerMinute'
      | 'metricsToken'
      | 'exportMaxJobs'
      | 'exportRetentionMinutes'
      | 'exportRunJobs'
    >
  > & {
    /** Versions an export job counts per statement (ExportRunner's default when absent). */
    exportPageRows?: number;
    baseUrl?: string;
    databaseUrl?: string;
    dataDir?: string;
    /** SEARCH_CACHE_MB; its default when absent. */
    searchCacheMb?: number;
    /** ENFORCE_PROFILES; true when absent. */
    enforceProfiles?: boolean;
    /** SEARCH_MAX_*, BUNDLE_MAX_ENTRIES, MAX_RESOURCE_BYTES; DEFAULT_LIMITS for any absent. */
    limits?: Partial<RequestLimits>;
    /** STATEMENT_TIMEOUT_MS and DB_ACQUIRE_TIMEOUT_MS (used when the directory opens its store). */
    statementTimeoutMs?: number;
    dbAcquireTimeoutMs?: number;
    /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS; no pacing when absent. */
    pacing?: PacingSettings;
    /** SYNC_SOURCES: directories followed in the background while the server runs. */
    syncSources?: readonly SyncSourceSettings[];
    /** Capability discovery; no periodic crawl when absent or when its interval is 0. */
    discovery?: DiscoveryConfig;
    /** SOURCE_REFRESH_INTERVAL in ms; no refresh of published lists when absent or 0. */
    sourceRefreshIntervalMs?: number;
    /** VALIDATION_THREADS, resolved (config.ts); none when absent. */
    validationThreads?: number;
  };

export async function startDirectory(
  config: DirectoryConfig,
  logger: Logger,
  store?: ResourceStore,
): Promise<RunningDirectory> {
  const openedStore = store ?? (await openStore(config, logger));
  // Until the app is ready (definitions loaded, seed written) every request gets a 503, not silence.
  const listening = await listen(config.port, config.host);
  const { server, address } = listening;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const baseUrl = config.baseUrl ?? `http://${host}:${address.port}/fhir`;
  const searchCacheMb = config.searchCacheMb ?? CONFIG_VARIABLES.SEARCH_CACHE_MB.default;
  const ctx = createFhirContext(openedStore, baseUrl, {
    searchCacheBytes: searchCacheMb * 1024 * 1024,
    enforceProfiles: config.enforceProfiles ?? true,
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.validationThreads ? { validationThreads: config.validationThreads } : {}),
  });
  const authenticator = new Authenticator(openedStore.auth, {
    audience: baseUrl,
    issuer: tokenEndpointOf(baseUrl),
    tokenTtlSeconds: config.accessTokenTtlSeconds ?? CONFIG_VARIABLES.ACCESS_TOKEN_TTL_SECONDS.default,
  });
  await authenticator.start();
  const events = new AuditEventSink(openedStore, baseUrl, { log: logger });
  ctx.access = {
    authenticator,
    readAccess: config.readAccess ?? CONFIG_VARIABLES.READ_ACCESS.default,
    events,
    tokenLimiter: new RateLimiter(
      config.tokenRatePerMinute ?? CONFIG_VARIABLES.TOKEN_RATE_PER_MINUTE.default,
    ),
    writeLimiter: new RateLimiter(
      config.writeRatePerMinute ?? CONFIG_VARIABLES.WRITE_RATE_PER_MINUTE.default,
    ),
  };
  if (config.seed) await seedIfEmpty(ctx, logger);
  const exportRetentionMinutes =
    config.exportRetentionMinutes ?? CONFIG_VARIABLES.EXPORT_RETENTION_MINUTES.default;
  const exportRunner = new ExportRunner(ctx, {
    retentionMinutes: exportRetentionMinutes,
    logger,
    ...(config.exportPageRows === undefined ? {} : { pageRows: config.exportPageRows }),
  });
  ctx.exports = {
    maxJobs: config.exportMaxJobs ?? CONFIG_VARIABLES.EXPORT_MAX_JOBS.default,
    retentionMinutes: exportRetentionMinutes,
    wake: () => exportRunner.wake(),
  };
  if (config.exportRunJobs ?? CONFIG_VARIABLES.EXPORT_RUN_JOBS.default) exportRunner.start();
  const capability = buildCapabilityStatement(ctx, SOFTWARE, new Date().toISOString());
  const capabilityJson = JSON.stringify(capability);
  const requests = new RequestMetrics();
  const app = createApp({
    ctx,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    capabilityStatement: () => ({ status: 200, body: capabilityJson }),
    requests,
    operations: {
      readiness: () =>
        checkReadiness({
          store: openedStore,
          seedRequested: config.seed,
          onDatabaseError: (err) => logger.warn({ err }, '/ready: the database did not answer'),
        }),
      metrics: wholeServer(
        createMetricsRegistry({
          ctx,
          requests,
          info: { version: SOFTWARE.version, database: openedStore.stats().pool ? 'postgresql' : 'pglite' },
        }),
      ),
      ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }),
    },
  });
  listening.serve(ctx, logger, app, requests);
  logger.info({ baseUrl, port: address.port }, 'fhir-directory listening');
  const followers = startFollowers(ctx, config.syncSources ?? [], logger);
  const discovery = startDiscovery(ctx, config.discovery, logger, countInFlight(server));
  const refresh = startRefresh(ctx, config.sourceRefreshIntervalMs, logger);

  let closing: Promise<void> | undefined;
  return {
    server,
    baseUrl,
    store: openedStore,
    ctx,
    app,
    close() {
      closing ??= (async () => {
        await followers.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        authenticator.close();
        await exportRunner.close();
        await discovery?.stop();
        await refresh?.stop();
        await events.close();
        await ctx.validationThreads?.close();
        await openedStore.close();
      })();
      return closing;
    },
  };
}

/** The periodic crawl of capability discovery (DISCOVERY_INTERVAL), when it is on. */
function startDiscovery(
  ctx: FhirContext,
  discovery: DiscoveryConfig | undefined,
  logger: Logger,
  inFlight: () => number,
): DiscoverySchedule | undefined {
  if (!discovery || discovery.intervalMs === 0) return undefined;
  return startDiscoverySchedule(ctx, {
    intervalMs: discovery.intervalMs,
    concurrency: discovery.concurrency,
    // While the directory answers requests, the crawl checks one endpoint at a time.
    busy: () => inFlight() > 0,
    fetch: fetchOptions({ ...discovery, baseUrl: ctx.baseUrl, version: SOFTWARE.version }),
    onCrawl: (progress, durationMs) => {
      if (progress.checked > 0) logger.info({ ...progress, durationMs }, 'capability discovery crawl done');
    },
    onError: (err) => logger.warn({ err }, 'capability discovery crawl failed; the next tick retries'),
  });
}

/** The refresh of the published lists with a URL (SOURCE_REFRESH_INTERVAL), when it is on. */
function startRefresh(
  ctx: FhirContext,
  intervalMs: number | undefined,
  logger: Logger,
): RefreshSchedule | undefined {
  if (!intervalMs) return undefined;
  return startSourceRefresh(ctx, {
    intervalMs,
    onRefresh: (outcome) =>
      outcome.outcome === 'imported'
        ? logger.info(outcome, 'published list refreshed')
        : logger.warn(outcome, 'published list refresh failed; retried after the interval'),
    onError: (err) => logger.warn({ err }, 'published list refresh failed; the next tick retries'),
  });
}
