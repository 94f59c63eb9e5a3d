/**
 * The only reader of process.env. Every variable is checked once at start-up against a JSON Schema;
 * every problem is reported together; the result is frozen.
 */
import Ajv from 'ajv';

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
} as const;

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
  if (!validate(values)) {
    const problems = (validate.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '');
      const shown = name === 'DATABASE_URL' ? '(redacted)' : JSON.stringify(values[name]);
      return `${name} ${e.message ?? 'is invalid'} (got ${shown})`;
    });
    throw new ConfigError(problems);
  }
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
  };
  if (typeof values.BASE_URL === 'string') config.baseUrl = values.BASE_URL.replace(/\/+$/, '');
  if (typeof values.DATABASE_URL === 'string') {
    // Kept off enumeration so the connection string (and its password) never reaches a log line.
    Object.defineProperty(config, 'databaseUrl', { value: values.DATABASE_URL, enumerable: false });
  }
  return Object.freeze(config);
}
