import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { IMPORT_SOURCES, reportLines, type ImportSource } from '../import/import-report';
import { defaultList, importResources } from '../import/import-resources';
import { qualityReport } from '../import/quality-report';
import { detectSource } from '../import/vendors/detect-source';
import { readImportDocument } from '../import/read-import-file';
import { createLogger } from '../logger';

const USAGE =
  'Usage: fhir-directory import <file.json|file.ndjson> [--dry-run] [--chunk-size N] [--source hti1|lantern-list|epic|cerner|fhir] [--name NAME] [--report FILE] [--delete-missing] [--verbose]\n';

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
  /** Delete the source's entries the file no longer lists, instead of retiring them. */
  deleteMissing: boolean;
}

function parseArgs(args: string[]): ImportArgs | undefined {
  let file: string | undefined;
  const parsed: Omit<ImportArgs, 'file'> = {
    chunkSize: 500,
    dryRun: false,
    verbose: false,
    deleteMissing: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--dry-run') parsed.dryRun = true;
    else if (arg === '--verbose') parsed.verbose = true;
    else if (arg === '--delete-missing') parsed.deleteMissing = true;
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

/** A list imported under `name`: its uri is what meta.source of its entries says. */
function sourceOf(name: string): { name: string; uri: string } {
  return { name, uri: `urn:fhir-directory:source:${name}` };
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
    const { items, bundle, lantern } = await readImportDocument(parsed.file);
    const fileName = basename(parsed.file);
    const format = lantern ? 'lantern-list' : (parsed.source ?? detectSource(items, bundle));
    // A published list is a source (DESIGN.md, "Who owns an entry"); plain FHIR resources are the directory's.
    const owner = format === 'fhir' ? undefined : sourceOf(parsed.name ?? defaultList(fileName).name);
    if (owner && !parsed.dryRun) await store.sources.upsert({ ...owner, kind: format });
    const report = await importResources(ctx, items, {
      chunkSize: parsed.chunkSize,
      dryRun: parsed.dryRun,
      fileName,
      source: format,
      ...(bundle ? { bundle } : {}),
      ...(lantern ? { lantern } : {}),
      ...(owner ? { owner, list: owner, deleteMissing: parsed.deleteMissing } : {}),
      onProgress: (done, total, r) => {
        process.stderr.write(
          `\r${parsed.dryRun ? 'checked' : 'imported'} ${done}/${total} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, rejected ${r.rejected.length})`,
        );
      },
    });
    process.stderr.write('\n');
    process.stdout.write(`${reportLines(report, parsed.verbose).join('\n')}\n`);
    const quality = qualityReport(report, { ...(owner ? { source: owner } : {}), file: fileName });
    if (parsed.reportFile) await writeFile(parsed.reportFile, `${JSON.stringify(quality, null, 2)}\n`);
    if (owner && !parsed.dryRun)
      await store.sources.update(owner.name, {
        status: { lastImport: quality.importedAt, file: fileName, counts: quality.counts },
        report: quality as unknown as Record<string, unknown>,
      });
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
