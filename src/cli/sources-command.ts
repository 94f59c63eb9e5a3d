/**
 * `fhir-directory sources`: the sources the directory follows or imports (DESIGN.md, "Who owns an
 * entry"), each with its kind, uri, url, last import, counts and its last quality report's findings;
 * `--json` prints the records as they are kept, last reports included.
 */
import { loadConfig } from '../config';
import { openStore } from '../directory';
import { createLogger } from '../logger';
import { sourceLines } from '../sources/source-lines';
import type { CliIo } from './cli-io';

const USAGE = 'Usage: fhir-directory sources [--json]\n';

export async function runSources(args: string[], io: CliIo): Promise<number> {
  if (args.some((a) => a !== '--json')) {
    io.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig(io.env);
  const store = await openStore(config, createLogger('warn', io.log));
  try {
    const sources = await store.sources.list();
    if (args.includes('--json')) io.stdout.write(`${JSON.stringify(sources, null, 2)}\n`);
    else io.stdout.write(`${sourceLines(sources).join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
