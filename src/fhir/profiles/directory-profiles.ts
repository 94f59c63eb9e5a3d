/**
 * The directory's own conformance resources, read from `profiles/` at start-up: the
 * StructureDefinitions (with snapshots) every Organization and Endpoint is validated against, the
 * ValueSets and CodeSystems their bindings use, and the custom SearchParameters that make the
 * directory-specific elements searchable.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  CodeSystem,
  Resource,
  SearchParameter,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { r4Terminology, type TerminologySource } from '../validation/value-set-expansion';
import { DIRECTORY_CANONICAL, PROFILES_DIR } from './profiles-location';

export interface DirectoryProfiles {
  /** Every profile in profiles/ by canonical URL (ours, and US Core Organization they derive from). */
  readonly byUrl: ReadonlyMap<string, StructureDefinition>;
  /** The profile every stored resource of a type must conform to (Organization, Endpoint). */
  readonly byType: ReadonlyMap<string, StructureDefinition>;
  readonly searchParameters: readonly SearchParameter[];
  /** Our ValueSets and CodeSystems first, then those of R4. */
  readonly terminology: TerminologySource;
}

export function loadDirectoryProfiles(dir: string = PROFILES_DIR): DirectoryProfiles {
  const resources = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Resource);
  const profiles = resources.filter(
    (r): r is StructureDefinition => r.resourceType === 'StructureDefinition',
  );
  for (const sd of profiles) {
    if (!sd.snapshot?.element?.length)
      throw new Error(`profiles/: ${sd.url} has no snapshot (run fhir-directory build-profiles)`);
  }
  const valueSets = new Map(
    resources.filter((r): r is ValueSet => r.resourceType === 'ValueSet').map((vs) => [vs.url ?? '', vs]),
  );
  const codeSystems = new Map(
    resources.filter((r): r is CodeSystem => r.resourceType === 'CodeSystem').map((cs) => [cs.url ?? '', cs]),
  );
  const r4 = r4Terminology();
  return {
    byUrl: new Map(profiles.map((sd) => [sd.url, sd])),
    byType: new Map(
      profiles
        // Our Extension definitions (capability discovery's) describe parts of a resource, not a type.
        .filter((sd) => sd.url.startsWith(DIRECTORY_CANONICAL) && sd.kind === 'resource')
        .map((sd) => [sd.type, sd]),
    ),
    searchParameters: resources.filter((r): r is SearchParameter => r.resourceType === 'SearchParameter'),
    terminology: {
      valueSet: (url) => valueSets.get(url) ?? r4.valueSet(url),
      codeSystem: (url) => codeSystems.get(url) ?? r4.codeSystem(url),
    },
  };
}
