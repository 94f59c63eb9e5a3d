import { loadConfig } from '../config';
import { openStore } from '../directory';
import { loadR4Definitions } from '../fhir/definitions';
import { isDirectoryType } from '../fhir/resource-types';
import { extractIndexRows } from '../fhir/search/extract-index';
import { createLogger } from '../logger';
import type { CliIo } from './cli-io';

/** `fhir-directory reindex [--type T]`: rebuilds search index rows, e.g. after adding a SearchParameter. */
export async function runReindex(args: string[], io: CliIo): Promise<number> {
  const typeIndex = args.indexOf('--type');
  const type = typeIndex >= 0 ? args[typeIndex + 1] : undefined;
  if (typeIndex >= 0 && (!type || !isDirectoryType(type))) {
    io.stderr.write(`Usage: fhir-directory reindex [--type T] (T one of the directory's resource types)\n`);
    return 2;
  }
  loadR4Definitions();
  const config = loadConfig(io.env);
  const baseUrl = config.baseUrl ?? `http://localhost:${config.port}/fhir`;
  const store = await openStore(config, createLogger('warn', io.log));
  try {
    const started = Date.now();
    const count = await store.reindex((resource) => extractIndexRows(resource, baseUrl), {
      ...(type ? { type } : {}),
      onProgress: (done, total) => io.stderr.write(`\rreindexed ${done}/${total}`),
    });
    io.stderr.write('\n');
    await store.analyze();
    io.stdout.write(
      `Reindexed ${count} resources${type ? ` of type ${type}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
