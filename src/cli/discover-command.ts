import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { crawl } from '../discovery/crawler';
import { fetchOptions } from '../discovery/discovery-options';
import { processHolderName } from '../discovery/discovery-schedule';
import { createLogger } from '../logger';
import type { CliIo } from './cli-io';

const USAGE = 'Usage: fhir-directory discover [--endpoint ID] [--concurrency N]\n';

/**
 * `fhir-directory discover [--endpoint ID] [--concurrency N]`: checks every active FHIR REST
 * Endpoint now (or one), whenever it was last checked, with a progress line on stderr.
 */
export async function runDiscover(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`${parsed}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(io.env);
  const baseUrl = config.baseUrl ?? `http://localhost:${config.port}/fhir`;
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const store = await openStore(config, createLogger('warn', io.log));
  try {
    const ctx = createFhirContext(store, baseUrl, { enforceProfiles: config.enforceProfiles });
    const started = Date.now();
    const progress = await crawl(ctx, {
      fetch: fetchOptions({ ...config.discovery, baseUrl, version }),
      concurrency: parsed.concurrency ?? config.discovery.concurrency,
      holder: processHolderName(),
      ...(parsed.endpoint ? { endpointId: parsed.endpoint } : {}),
      onProgress: (p) => io.stderr.write(`\rchecked ${p.checked + p.skipped}/${p.total}`),
    });
    io.stderr.write('\n');
    if (parsed.endpoint && progress.total === 0) {
      io.stderr.write(`No active FHIR REST Endpoint with id ${parsed.endpoint}\n`);
      return 1;
    }
    const statuses = Object.entries(progress.statuses)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status} ${n}`)
      .join(', ');
    io.stdout.write(
      `Checked ${progress.checked} of ${progress.total} endpoints in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        `${statuses ? ` (${statuses})` : ''}${progress.skipped ? `; ${progress.skipped} being checked by another process` : ''}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

function parseArgs(args: string[]): { endpoint?: string; concurrency?: number } | string {
  const result: { endpoint?: string; concurrency?: number } = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) return `${flag} needs a value`;
    if (flag === '--endpoint') result.endpoint = value;
    else if (flag === '--concurrency') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 256)
        return `--concurrency must be an integer from 1 to 256 (got ${value})`;
      result.concurrency = n;
    } else return `Unknown option ${flag}`;
  }
  return result;
}
