import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { fetchListUrl, isListUrl, ListFetchError, type FetchedList } from '../import/fetch-list-url';
import { IMPORT_SOURCES, reportLines, type ImportSource } from '../import/import-report';
import { importListFile } from '../import/import-list-file';
import type { ImportReport } from '../import/import-report';
import { createLogger } from '../logger';
import type { CliIo } from './cli-io';

const USAGE =
  'Usage: fhir-directory import <file|https://url> [--dry-run] [--chunk-size N] [--source hti1|nppes-endpoints|lantern-list|epic|cerner|fhir] [--name NAME] [--report FILE] [--delete-missing] [--adopt] [--verbose] [--allow-http] [--max-bytes N] [--timeout SECONDS]\n';

interface ImportArgs {
  file: string;
  /** Absent: the store's importChunkSize (1,000 on PostgreSQL, 500 on PGlite). */
  chunkSize?: number;
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
  /** A URL: fetch plain http too (https only otherwise). */
  allowHttp: boolean;
  /** A URL: the largest body accepted, in bytes. */
  maxBytes?: number;
  /** A URL: the longest the whole download may take, in seconds. */
  timeoutSeconds?: number;
}

/** Exit code of a URL that could not be fetched (not https, 404, too large, timeout, network). */
export const EXIT_FETCH_FAILED = 3;

function parseArgs(args: string[]): ImportArgs | undefined {
  let file: string | undefined;
  const parsed: Omit<ImportArgs, 'file'> = {
    dryRun: false,
    verbose: false,
    deleteMissing: false,
    adopt: false,
    allowHttp: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--dry-run') parsed.dryRun = true;
    else if (arg === '--verbose') parsed.verbose = true;
    else if (arg === '--delete-missing') parsed.deleteMissing = true;
    else if (arg === '--adopt') parsed.adopt = true;
    else if (arg === '--allow-http') parsed.allowHttp = true;
    else if (arg === '--max-bytes') {
      parsed.maxBytes = Number(args[++i]);
      if (!Number.isInteger(parsed.maxBytes) || parsed.maxBytes < 1) return undefined;
    } else if (arg === '--timeout') {
      parsed.timeoutSeconds = Number(args[++i]);
      if (!(parsed.timeoutSeconds > 0)) return undefined;
    } else if (arg === '--chunk-size') {
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

/** Fetches a URL argument to a temporary file; a refusal is printed and undefined returned. */
async function fetched(parsed: ImportArgs, io: CliIo): Promise<FetchedList | undefined> {
  try {
    return await fetchListUrl(parsed.file, {
      allowHttp: parsed.allowHttp,
      ...(parsed.maxBytes === undefined ? {} : { maxBytes: parsed.maxBytes }),
      ...(parsed.timeoutSeconds === undefined ? {} : { totalTimeoutMs: parsed.timeoutSeconds * 1000 }),
    });
  } catch (err) {
    if (!(err instanceof ListFetchError)) throw err;
    io.stderr.write(`import: ${err.reason}: ${err.message}; nothing imported\n`);
    return undefined;
  }
}

/**
 * `fhir-directory import <file|url>`: prints each rejected resource with its reasons, what was
 * normalized (per kind), and the counts; exits 1 when anything was rejected, 3 when a URL could not
 * be fetched (nothing written then). `--dry-run` reports the same and writes nothing.
 */
export async function runImport(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed) {
    io.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig(io.env);
  const download = isListUrl(parsed.file) ? await fetched(parsed, io) : undefined;
  if (isListUrl(parsed.file) && !download) return EXIT_FETCH_FAILED;
  const logger = createLogger('warn', io.log);
  const store = await openStore(config, logger);
  try {
    const ctx = createFhirContext(store, config.baseUrl ?? `http://localhost:${config.port}/fhir`, {
      enforceProfiles: config.enforceProfiles,
      validationThreads: config.validationThreads,
    });
    const fileName = download?.fileName ?? basename(parsed.file);
    const progress = (done: number, total: number | undefined, r: ImportReport): void => {
      io.stderr.write(
        `\r${parsed.dryRun ? 'checked' : 'imported'} ${done}${total === undefined ? ' rows' : `/${total}`} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, rejected ${r.rejected.length})`,
      );
    };
    const { report, quality } = await importListFile(ctx, download?.path ?? parsed.file, {
      fileName,
      ...(download ? { url: parsed.file } : {}),
      ...(parsed.source ? { source: parsed.source } : {}),
      ...(parsed.name ? { name: parsed.name } : {}),
      ...(parsed.chunkSize === undefined ? {} : { chunkSize: parsed.chunkSize }),
      dryRun: parsed.dryRun,
      deleteMissing: parsed.deleteMissing,
      adopt: parsed.adopt,
      onProgress: progress,
      onAdopted: (count, system) =>
        io.stdout.write(
          `adopted ${count} entries imported before sources existed (identifier ${system}|…)\n`,
        ),
    });
    io.stderr.write('\n');
    io.stdout.write(`${reportLines(report, parsed.verbose).join('\n')}\n`);
    if (parsed.reportFile) await writeFile(parsed.reportFile, `${JSON.stringify(quality, null, 2)}\n`);
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.close();
    await download?.remove();
  }
}
