/**
 * `fhir-directory sources`: the sources the directory follows or imports (DESIGN.md, "Who owns an
 * entry"), each with its kind, uri, url, last import, counts and its last quality report's findings;
 * `--json` prints the records as they are kept, last reports included.
 */
import { loadConfig } from '../config';
import { openStore } from '../directory';
import { createLogger } from '../logger';
import { sourceLines } from '../sources/source-lines';

const USAGE = 'Usage: fhir-directory sources [--json]\n';

export async function runSources(args: string[]): Promise<number> {
  if (args.some((a) => a !== '--json')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig();
  const store = await openStore(config, createLogger('warn'));
  try {
    const sources = await store.sources.list();
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(sources, null, 2)}\n`);
    else process.stdout.write(`${sourceLines(sources).join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
