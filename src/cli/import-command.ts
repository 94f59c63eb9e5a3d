import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { IMPORT_SOURCES, reportLines, type ImportSource } from '../import/import-report';
import { defaultList, importResources } from '../import/import-resources';
import { qualityReport } from '../import/quality-report';
import { detectSource } from '../import/vendors/detect-source';
import { readImportDocument } from '../import/read-import-file';
import { importNppes } from '../import/nppes/import-nppes';
import { isNppesHeader } from '../import/nppes/nppes-rows';
import type { ImportReport } from '../import/import-report';
import { createLogger } from '../logger';
import { adoptEntries } from '../import/adopt-entries';
import { VENDOR_LISTS } from '../import/vendors/vendor-plan';
import type { FhirContext } from '../fhir/context';
import type { SourceRef } from '../storage/source-store';

const USAGE =
  'Usage: fhir-directory import <file.json|file.ndjson> [--dry-run] [--chunk-size N] [--source hti1|nppes-endpoints|lantern-list|epic|cerner|fhir] [--name NAME] [--report FILE] [--delete-missing] [--adopt] [--verbose]\n';

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
  /** First take over the local entries with the source's identity (adopt-entries.ts). */
  adopt: boolean;
}

function parseArgs(args: string[]): ImportArgs | undefined {
  let file: string | undefined;
  const parsed: Omit<ImportArgs, 'file'> = {
    chunkSize: 500,
    dryRun: false,
    verbose: false,
    deleteMissing: false,
    adopt: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--dry-run') parsed.dryRun = true;
    else if (arg === '--verbose') parsed.verbose = true;
    else if (arg === '--delete-missing') parsed.deleteMissing = true;
    else if (arg === '--adopt') parsed.adopt = true;
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

/** `--adopt`: the local entries with the source's identity become the source's (adopt-entries.ts). */
async function adopt(ctx: FhirContext, owner: SourceRef, system: string): Promise<void> {
  const adopted = await adoptEntries(ctx, owner, system);
  process.stdout.write(
    `adopted ${adopted} entries imported before sources existed (identifier ${system}|…)\n`,
  );
}

/** Whether the file starts with the NPPES endpoint file's header. */
async function startsNppes(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(64), 0, 64, 0);
    return isNppesHeader(buffer.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await file.close();
  }
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
    const fileName = basename(parsed.file);
    const progress = (done: number, total: number | undefined, r: ImportReport): void => {
      process.stderr.write(
        `\r${parsed.dryRun ? 'checked' : 'imported'} ${done}${total === undefined ? ' rows' : `/${total}`} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, rejected ${r.rejected.length})`,
      );
    };
    let report: ImportReport;
    let owner: { name: string; uri: string } | undefined;
    if (
      parsed.source === 'nppes-endpoints' ||
      (parsed.source === undefined && (await startsNppes(parsed.file)))
    ) {
      owner = sourceOf(parsed.name ?? defaultList(fileName).name);
      if (!parsed.dryRun) await store.sources.upsert({ ...owner, kind: 'nppes-endpoints' });
      if (parsed.adopt && !parsed.dryRun) await adopt(ctx, owner, owner.uri);
      report = await importNppes(ctx, createReadStream(parsed.file), {
        owner,
        chunkSize: parsed.chunkSize,
        dryRun: parsed.dryRun,
        deleteMissing: parsed.deleteMissing,
        onProgress: (rows, r) => progress(rows, undefined, r),
      });
    } else {
      const { items, bundle, lantern } = await readImportDocument(parsed.file);
      const format = lantern ? 'lantern-list' : (parsed.source ?? detectSource(items, bundle));
      // A published list is a source (DESIGN.md, "Who owns an entry"); plain FHIR resources are the directory's.
      owner = format === 'fhir' ? undefined : sourceOf(parsed.name ?? defaultList(fileName).name);
      if (owner && !parsed.dryRun) await store.sources.upsert({ ...owner, kind: format });
      if (owner && parsed.adopt && !parsed.dryRun)
        await adopt(
          ctx,
          owner,
          format === 'epic' || format === 'cerner' ? VENDOR_LISTS[format].system : owner.uri,
        );
      report = await importResources(ctx, items, {
        chunkSize: parsed.chunkSize,
        dryRun: parsed.dryRun,
        fileName,
        source: format,
        ...(bundle ? { bundle } : {}),
        ...(lantern ? { lantern } : {}),
        ...(owner ? { owner, list: owner, deleteMissing: parsed.deleteMissing } : {}),
        onProgress: progress,
      });
    }
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
