import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { IMPORT_SOURCES, reportLines, type ImportSource } from '../import/import-report';
import { importResources } from '../import/import-resources';
import { readImportDocument } from '../import/read-import-file';
import { createLogger } from '../logger';

const USAGE =
  'Usage: fhir-directory import <file.json|file.ndjson> [--dry-run] [--chunk-size N] [--source hti1|epic|cerner|fhir] [--name NAME] [--report FILE] [--verbose]\n';

interface ImportArgs {
  file: string;
  chunkSize: number;
  dryRun: boolean;
  verbose: boolean;
  source?: ImportSource;
  /** The list's name (a slug); default: the file's. */
  name?: string;
  /** Where to write the report as JSON. */
  reportFile?: string;
}

function parseArgs(args: string[]): ImportArgs | undefined {
  let file: string | undefined;
  const parsed: Omit<ImportArgs, 'file'> = { chunkSize: 500, dryRun: false, verbose: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--dry-run') parsed.dryRun = true;
    else if (arg === '--verbose') parsed.verbose = true;
    else if (arg === '--chunk-size') {
      parsed.chunkSize = Number(args[++i]);
      if (!Number.isInteger(parsed.chunkSize) || parsed.chunkSize < 1) return undefined;
    } else if (arg === '--source') {
      const source = args[++i];
      if (!IMPORT_SOURCES.includes(source as ImportSource)) return undefined;
      parsed.source = source as ImportSource;
    } else if (arg === '--name') {
      const name = args[++i];
      if (name === undefined || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) return undefined;
      parsed.name = name;
    } else if (arg === '--report') {
      const reportFile = args[++i];
      if (reportFile === undefined || reportFile.startsWith('--')) return undefined;
      parsed.reportFile = reportFile;
    } else if (arg.startsWith('--') || file !== undefined) return undefined;
    else file = arg;
  }
  return file === undefined ? undefined : { ...parsed, file };
}

/**
 * `fhir-directory import <file>`: prints each rejected resource with its reasons, what was normalized
 * (per kind), and the counts; exits 1 when anything was rejected. `--dry-run` reports the same and
 * writes nothing.
 */
export async function runImport(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger('warn');
  const store = await openStore(config, logger);
  try {
    const ctx = createFhirContext(store, config.baseUrl ?? `http://localhost:${config.port}/fhir`, {
      enforceProfiles: config.enforceProfiles,
    });
    const { items, bundle } = await readImportDocument(parsed.file);
    const report = await importResources(ctx, items, {
      chunkSize: parsed.chunkSize,
      dryRun: parsed.dryRun,
      fileName: basename(parsed.file),
      ...(bundle ? { bundle } : {}),
      ...(parsed.name
        ? { list: { name: parsed.name, uri: `urn:fhir-directory:source:${parsed.name}` } }
        : {}),
      ...(parsed.source ? { source: parsed.source } : {}),
      onProgress: (done, total, r) => {
        process.stderr.write(
          `\r${parsed.dryRun ? 'checked' : 'imported'} ${done}/${total} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, rejected ${r.rejected.length})`,
        );
      },
    });
    process.stderr.write('\n');
    process.stdout.write(`${reportLines(report, parsed.verbose).join('\n')}\n`);
    if (parsed.reportFile) await writeFile(parsed.reportFile, `${JSON.stringify(report, null, 2)}\n`);
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
