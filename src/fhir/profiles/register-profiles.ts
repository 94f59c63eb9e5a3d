/**
 * Puts the directory's profiles to work: their SearchParameters join the search registry (once per
 * process, like the R4 definitions they extend) and a ProfileCheck validates every write of a
 * profiled type against its profile.
 */
import type { Resource } from '@medplum/fhirtypes';
import { registerSearchParameter } from '../search/registry';
import { createProfileValidator, type ProfileValidator } from '../validation/profile-validator';
import type { ProfileCheck } from '../validation/resource-validator';
import { type DirectoryProfiles, loadDirectoryProfiles } from './directory-profiles';

let loaded: DirectoryProfiles | undefined;

/** The profiles in profiles/, read and their SearchParameters registered on first use. */
export function directoryProfiles(): DirectoryProfiles {
  if (loaded) return loaded;
  const profiles = loadDirectoryProfiles();
  for (const sp of profiles.searchParameters) registerSearchParameter(sp);
  loaded = profiles;
  return profiles;
}

const validators = new WeakMap<DirectoryProfiles, ProfileValidator>();

/** One validator per set of profiles: it keeps the parsed snapshots and value-set expansions. */
export function profileValidator(profiles: DirectoryProfiles): ProfileValidator {
  let validator = validators.get(profiles);
  if (!validator) {
    validator = createProfileValidator(profiles.terminology);
    validators.set(profiles, validator);
  }
  return validator;
}

/** Validates a resource against the profile of its type; types without one pass. */
export function profileCheck(profiles: DirectoryProfiles): ProfileCheck {
  const validator = profileValidator(profiles);
  return (resource: Resource) => {
    const profile = profiles.byType.get(resource.resourceType);
    return profile ? validator.validate(resource, profile) : [];
  };
}
