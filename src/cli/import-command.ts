import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { importResources } from '../import/import-resources';
import { readImportFile } from '../import/read-import-file';
import { createLogger } from '../logger';

export async function runImport(args: string[]): Promise<number> {
  const file = args.find((a) => !a.startsWith('--'));
  const chunkIndex = args.indexOf('--chunk-size');
  const chunkSize = chunkIndex >= 0 ? Number(args[chunkIndex + 1]) : 500;
  if (!file || !Number.isInteger(chunkSize) || chunkSize < 1) {
    process.stderr.write('Usage: fhir-directory import <file.json|file.ndjson> [--chunk-size N]\n');
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger('warn');
  const store = await openStore(config, logger);
  try {
    const ctx = createFhirContext(store, config.baseUrl ?? `http://localhost:${config.port}/fhir`);
    const items = await readImportFile(file);
    const report = await importResources(ctx, items, {
      chunkSize,
      onProgress: (done, total, r) => {
        process.stderr.write(
          `\rimported ${done}/${total} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, rejected ${r.rejected.length})`,
        );
      },
    });
    process.stderr.write('\n');
    for (const r of report.rejected)
      process.stdout.write(`rejected ${r.source} ${r.resource}: ${r.reasons.join('; ')}\n`);
    const loaded = report.created + report.updated + report.unchanged;
    process.stdout.write(
      `${loaded} loaded (${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged), ${report.rejected.length} rejected, of ${report.total}\n`,
    );
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
