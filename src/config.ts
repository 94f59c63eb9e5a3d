/**
 * The only reader of process.env. Every variable is checked once at start-up against a JSON Schema;
 * every problem is reported together; the result is frozen.
 */
import { availableParallelism } from 'node:os';
import Ajv from 'ajv';
import { DEFAULT_LIMITS, type RequestLimits } from './fhir/limits';
import type { PacingSettings } from './storage/owner-pacing';
import { parseSyncSources, type SyncSourceSettings } from './sync/source-settings';

export interface Config {
  port: number;
  host: string;
  /** Public FHIR base used in links, without a trailing slash; derived from the listening port when unset. */
  baseUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  seed: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxBodyBytes: number;
  /** Memory for the search response cache, in MiB; 0 turns it off. */
  searchCacheMb: number;
  /** Validate Organization and Endpoint writes against the profiles in profiles/ (422 when they fail). */
  enforceProfiles: boolean;
  /** Work one request may ask for (SEARCH_MAX_*, BUNDLE_MAX_ENTRIES, MAX_RESOURCE_BYTES). */
  limits: RequestLimits;
  /** Longest a single SQL statement may run, in ms (PostgreSQL statement_timeout); 0: no limit. */
  statementTimeoutMs: number;
  /** Longest a request waits for a database connection, in ms, before a 503 with Retry-After. */
  dbAcquireTimeoutMs: number;
  /** CLIENT_DB_SHARE and COSTLY_REQUEST_MS: one client's costly statements paced while others are served. */
  pacing: PacingSettings;
  /** `public`: reads need no token; `authenticated`: reads need a token with a read scope. */
  readAccess: 'public' | 'authenticated';
  /** Lifetime of the access tokens /auth/token issues, in seconds. */
  accessTokenTtlSeconds: number;
  /** Token requests per client (or per caller address when no client is known) per minute, per process. */
  tokenRatePerMinute: number;
  /** Write requests per client per minute, per process (a Bundle counts once). */
  writeRatePerMinute: number;
  /** When set, GET /metrics needs `Authorization: Bearer <this>`; unset, /metrics is public. */
  metricsToken?: string;
  /** Server processes on the one port (node:cluster; PostgreSQL only): a number, or `auto` (one a core). */
  workers: number | 'auto';
  /** Threads the bulk write paths validate on (imports, sync pages, large Bundles); 0: the main thread. */
  validationThreads: number;
  /** Bulk Data export jobs queued or running at once, over every process on the database (429 beyond). */
  exportMaxJobs: number;
  /** How long a finished export's manifest and files are served, in minutes (then 410). */
  exportRetentionMinutes: number;
  /** Whether this process runs export jobs (false: it answers $export, and other processes on the database run them). */
  exportRunJobs: boolean;
  /** SYNC_SOURCES: the directories this server follows in the background (src/sync/). */
  syncSources: readonly SyncSourceSettings[];
  /** Capability discovery (issue 13): the periodic crawl's interval in ms (0: off), concurrency and safety flags. */
  discovery: DiscoveryConfig;
  /** SOURCE_REFRESH_INTERVAL: how often the published lists with a URL are fetched again, in ms (0: never). */
  sourceRefreshIntervalMs: number;
}

export interface DiscoveryConfig {
  intervalMs: number;
  concurrency: number;
  /** Fetch from loopback, private, link-local and other non-public addresses too. */
  allowPrivate: boolean;
  /** Fetch http:// endpoints too (https only otherwise). */
  allowHttp: boolean;
}

/** `0`, or a whole number of seconds, minutes, hours or days (`90s`, `30m`, `24h`, `7d`), in ms. */
export function parseInterval(text: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text);
  if (!match) throw new Error(`not an interval: ${text}`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's'] ?? 1_000;
  return Number(match[1]) * unit;
}

/** Each variable: its name, what it means and its default, as README.md's table shows them. */
export const CONFIG_VARIABLES = {
  PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
  HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
  BASE_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
  DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
  DATA_DIR: { type: 'string', minLength: 1, default: './data' },
  SEED: { type: 'boolean', default: true },
  LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
  MAX_BODY_BYTES: { type: 'integer', minimum: 1024, maximum: 1073741824, default: 16777216 },
  SEARCH_CACHE_MB: { type: 'integer', minimum: 0, maximum: 65536, default: 64 },
  ENFORCE_PROFILES: { type: 'boolean', default: true },
  SEARCH_MAX_CONDITIONS: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: DEFAULT_LIMITS.searchConditions,
  },
  SEARCH_MAX_VALUES: { type: 'integer', minimum: 1, maximum: 10000, default: DEFAULT_LIMITS.searchValues },
  SEARCH_MAX_SORT_KEYS: { type: 'integer', minimum: 1, maximum: 50, default: DEFAULT_LIMITS.sortKeys },
  SEARCH_MAX_INCLUDES: { type: 'integer', minimum: 1, maximum: 100, default: DEFAULT_LIMITS.includes },
  SEARCH_MAX_CHAIN_DEPTH: { type: 'integer', minimum: 1, maximum: 20, default: DEFAULT_LIMITS.chainDepth },
  BUNDLE_MAX_ENTRIES: { type: 'integer', minimum: 1, maximum: 100000, default: DEFAULT_LIMITS.bundleEntries },
  MAX_RESOURCE_BYTES: {
    type: 'integer',
    minimum: 1024,
    maximum: 1073741824,
    default: DEFAULT_LIMITS.resourceBytes,
  },
  SEARCH_MAX_COST: { type: 'integer', minimum: 1, maximum: 1000000000, default: DEFAULT_LIMITS.searchCost },
  STATEMENT_TIMEOUT_MS: { type: 'integer', minimum: 0, maximum: 3600000, default: 5000 },
  DB_ACQUIRE_TIMEOUT_MS: { type: 'integer', minimum: 1, maximum: 600000, default: 5000 },
  CLIENT_DB_SHARE: { type: 'number', minimum: 0.01, maximum: 1, default: 0.1 },
  COSTLY_REQUEST_MS: { type: 'integer', minimum: 0, maximum: 3600000, default: 100 },
  READ_ACCESS: { enum: ['public', 'authenticated'], default: 'public' },
  ACCESS_TOKEN_TTL_SECONDS: { type: 'integer', minimum: 10, maximum: 300, default: 300 },
  TOKEN_RATE_PER_MINUTE: { type: 'integer', minimum: 0, maximum: 1000000, default: 60 },
  WRITE_RATE_PER_MINUTE: { type: 'integer', minimum: 0, maximum: 10000000, default: 1200 },
  METRICS_TOKEN: { type: 'string', minLength: 16, pattern: '^[\\x21-\\x7e]+$' },
  WORKERS: { anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { const: 'auto' }], default: 1 },
  VALIDATION_THREADS: {
    anyOf: [{ type: 'integer', minimum: 0, maximum: 64 }, { const: 'auto' }],
    default: 'auto',
  },
  EXPORT_MAX_JOBS: { type: 'integer', minimum: 1, maximum: 1000, default: 4 },
  EXPORT_RETENTION_MINUTES: { type: 'number', minimum: 0.01, maximum: 43200, default: 60 },
  EXPORT_RUN_JOBS: { type: 'boolean', default: true },
  /** A JSON list of sources (src/sync/source-settings.ts), each item checked there, all problems together. */
  SYNC_SOURCES: { type: 'string', minLength: 2 },
  DISCOVERY_INTERVAL: { type: 'string', pattern: '^(0|[1-9][0-9]{0,6}(s|m|h|d))$', default: '24h' },
  DISCOVERY_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 256, default: 8 },
  DISCOVERY_ALLOW_PRIVATE: { type: 'boolean', default: false },
  DISCOVERY_ALLOW_HTTP: { type: 'boolean', default: false },
  SOURCE_REFRESH_INTERVAL: { type: 'string', pattern: '^(0|[1-9][0-9]{0,6}(s|m|h|d))$', default: '0' },
} as const;

/** Variables whose values never appear in a problem report (or a log: they are kept off enumeration). */
// SYNC_SOURCES may hold api keys (header:/query: auth).
const SECRETS: ReadonlySet<string> = new Set(['DATABASE_URL', 'METRICS_TOKEN', 'SYNC_SOURCES']);

const schema = { type: 'object', properties: CONFIG_VARIABLES, additionalProperties: true };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true });
  const validate = ajv.compile(schema);
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(CONFIG_VARIABLES)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') values[name] = raw;
  }
  const valid = validate(values);
  const problems = (validate.errors ?? []).map((e) => {
    const name = e.instancePath.replace(/^\//, '');
    const shown = SECRETS.has(name) ? '(redacted)' : JSON.stringify(values[name]);
    return `${name} ${e.message ?? 'is invalid'} (got ${shown})`;
  });
  let syncSources: SyncSourceSettings[] = [];
  if (typeof values.SYNC_SOURCES === 'string') {
    const parsed = parseSyncSources(values.SYNC_SOURCES);
    if (parsed.ok) syncSources = parsed.value;
    else problems.push(...parsed.problems.map((p) => `${p.field} ${p.message}`));
  }
  if (!valid || problems.length > 0) throw new ConfigError(problems);
  const port = values.PORT as number;
  const config: Config = {
    port,
    host: values.HOST as string,
    dataDir: values.DATA_DIR as string,
    seed: values.SEED as boolean,
    logLevel: values.LOG_LEVEL as Config['logLevel'],
    maxBodyBytes: values.MAX_BODY_BYTES as number,
    searchCacheMb: values.SEARCH_CACHE_MB as number,
    enforceProfiles: values.ENFORCE_PROFILES as boolean,
    limits: {
      searchConditions: values.SEARCH_MAX_CONDITIONS as number,
      searchValues: values.SEARCH_MAX_VALUES as number,
      sortKeys: values.SEARCH_MAX_SORT_KEYS as number,
      includes: values.SEARCH_MAX_INCLUDES as number,
      chainDepth: values.SEARCH_MAX_CHAIN_DEPTH as number,
      bundleEntries: values.BUNDLE_MAX_ENTRIES as number,
      resourceBytes: values.MAX_RESOURCE_BYTES as number,
      searchCost: values.SEARCH_MAX_COST as number,
    },
    statementTimeoutMs: values.STATEMENT_TIMEOUT_MS as number,
    dbAcquireTimeoutMs: values.DB_ACQUIRE_TIMEOUT_MS as number,
    pacing: { share: values.CLIENT_DB_SHARE as number, costlyMs: values.COSTLY_REQUEST_MS as number },
    readAccess: values.READ_ACCESS as Config['readAccess'],
    accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_SECONDS as number,
    tokenRatePerMinute: values.TOKEN_RATE_PER_MINUTE as number,
    writeRatePerMinute: values.WRITE_RATE_PER_MINUTE as number,
    workers: values.WORKERS as Config['workers'],
    validationThreads: validationThreadsFor(values.VALIDATION_THREADS as number | 'auto'),
    exportMaxJobs: values.EXPORT_MAX_JOBS as number,
    exportRetentionMinutes: values.EXPORT_RETENTION_MINUTES as number,
    exportRunJobs: values.EXPORT_RUN_JOBS as boolean,
    syncSources: Object.freeze(syncSources),
    discovery: {
      intervalMs: parseInterval(values.DISCOVERY_INTERVAL as string),
      concurrency: values.DISCOVERY_CONCURRENCY as number,
      allowPrivate: values.DISCOVERY_ALLOW_PRIVATE as boolean,
      allowHttp: values.DISCOVERY_ALLOW_HTTP as boolean,
    },
    sourceRefreshIntervalMs: parseInterval(values.SOURCE_REFRESH_INTERVAL as string),
  };
  if (typeof values.BASE_URL === 'string') config.baseUrl = values.BASE_URL.replace(/\/+$/, '');
  if (typeof values.DATABASE_URL === 'string') {
    // Kept off enumeration so the connection string (and its password) never reaches a log line.
    Object.defineProperty(config, 'databaseUrl', { value: values.DATABASE_URL, enumerable: false });
  }
  if (typeof values.METRICS_TOKEN === 'string')
    Object.defineProperty(config, 'metricsToken', { value: values.METRICS_TOKEN, enumerable: false });
  return Object.freeze(config);
}

/**
 * VALIDATION_THREADS=auto: one thread for each core beyond two (the main thread's and the database's),
 * at least one and at most 4. On this 2-core machine one thread was within the noise of none while
 * PostgreSQL's share of a write was the larger (README, "Write path speed", third round); once a
 * transaction wrote one Provenance per activity and the statistics keeper's passes were capped,
 * PostgreSQL's CPU a resource halved, and one thread made the import path 1.2× as fast (70,000
 * resources, quiet, alternating: 1,548-2,008 resources/s against 1,258-1,739 with none).
 */
export function validationThreadsFor(setting: number | 'auto', cores = availableParallelism()): number {
  return setting === 'auto' ? Math.min(4, Math.max(1, cores - 2)) : setting;
}
