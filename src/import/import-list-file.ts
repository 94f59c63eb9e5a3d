/**
 * One import of a list file, as `fhir-directory import` and the refresh schedule run it: the
 * format recognized (NPPES header, Lantern list, vendor or HTI-1 Bundle, plain FHIR), the list
 * registered as a source (unless plain FHIR), the difference applied, the quality report kept with
 * the source. What the caller prints or logs it decides itself.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FhirContext } from '../fhir/context';
import { mergeSourceStatus, type SourceRef } from '../storage/source-store';
import { adoptEntries } from './adopt-entries';
import type { ImportReport, ImportSource } from './import-report';
import { defaultList, importResources } from './import-resources';
import { importNppes } from './nppes/import-nppes';
import { isNppesHeader } from './nppes/nppes-rows';
import { qualityReport, type QualityReport } from './quality-report';
import { readImportDocument } from './read-import-file';
import { detectSource } from './vendors/detect-source';
import { VENDOR_LISTS } from './vendors/vendor-plan';

export interface ListFileOptions {
  /** The file's name as reported (and the default source name); the URL's last segment for a download. */
  fileName: string;
  /** Where the list was fetched from (kept as the source's url). */
  url?: string;
  source?: ImportSource;
  name?: string;
  chunkSize?: number;
  dryRun?: boolean;
  deleteMissing?: boolean;
  adopt?: boolean;
  onProgress?: (done: number, total: number | undefined, report: ImportReport) => void;
  /** Told how many entries `--adopt` took over. */
  onAdopted?: (count: number, system: string) => void;
}

export interface ListFileResult {
  report: ImportReport;
  quality: QualityReport;
  owner?: SourceRef;
}

/** A list imported under `name`: its uri is what meta.source of its entries says. */
export function sourceOf(name: string): SourceRef {
  return { name, uri: `urn:fhir-directory:source:${name}` };
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

export async function importListFile(
  ctx: FhirContext,
  path: string,
  options: ListFileOptions,
): Promise<ListFileResult> {
  const store = ctx.store;
  const dryRun = options.dryRun ?? false;
  const chunkSize = options.chunkSize;
  const deleteMissing = options.deleteMissing ?? false;
  const register = async (owner: SourceRef, kind: string): Promise<void> => {
    if (dryRun) return;
    await store.sources.upsert({ ...owner, kind, ...(options.url ? { url: options.url } : {}) });
  };
  const adopt = async (owner: SourceRef, system: string): Promise<void> => {
    if (!options.adopt || dryRun) return;
    options.onAdopted?.(await adoptEntries(ctx, owner, system), system);
  };
  let report: ImportReport;
  let owner: SourceRef | undefined;
  if (options.source === 'nppes-endpoints' || (options.source === undefined && (await startsNppes(path)))) {
    owner = sourceOf(options.name ?? defaultList(options.fileName).name);
    await register(owner, 'nppes-endpoints');
    await adopt(owner, owner.uri);
    report = await importNppes(ctx, createReadStream(path), {
      owner,
      ...(chunkSize === undefined ? {} : { chunkSize }),
      dryRun,
      deleteMissing,
      onProgress: (rows, r) => options.onProgress?.(rows, undefined, r),
    });
  } else {
    const { items, bundle, lantern } = await readImportDocument(path);
    const format = lantern ? 'lantern-list' : (options.source ?? detectSource(items, bundle));
    // A published list is a source (DESIGN.md, "Who owns an entry"); plain FHIR resources are the directory's.
    owner = format === 'fhir' ? undefined : sourceOf(options.name ?? defaultList(options.fileName).name);
    if (owner) {
      await register(owner, format);
      await adopt(owner, format === 'epic' || format === 'cerner' ? VENDOR_LISTS[format].system : owner.uri);
    }
    report = await importResources(ctx, items, {
      ...(chunkSize === undefined ? {} : { chunkSize }),
      dryRun,
      fileName: options.fileName,
      source: format,
      ...(bundle ? { bundle } : {}),
      ...(lantern ? { lantern } : {}),
      ...(owner ? { owner, list: owner, deleteMissing } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  const quality = qualityReport(report, { ...(owner ? { source: owner } : {}), file: options.fileName });
  if (owner && !dryRun) {
    // Merged into what the source keeps (a refresh's last outcome stays).
    await mergeSourceStatus(
      store.sources,
      owner.name,
      { lastImport: quality.importedAt, file: options.fileName, counts: quality.counts },
      { report: quality as unknown as Record<string, unknown> },
    );
  }
  return { report, quality, ...(owner ? { owner } : {}) };
}
