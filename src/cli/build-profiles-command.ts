import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProfiles } from '../fhir/profiles/build-profiles';
import { PROFILES_DIR } from '../fhir/profiles/profiles-location';
import type { CliIo } from './cli-io';

/** `fhir-directory build-profiles`: regenerates the profile snapshots in profiles/ from profiles/source/. */
export function runBuildProfiles(io: CliIo): number {
  for (const profile of buildProfiles()) {
    writeFileSync(join(PROFILES_DIR, profile.file), profile.text);
    io.stdout.write(`wrote profiles/${profile.file}\n`);
  }
  return 0;
}
