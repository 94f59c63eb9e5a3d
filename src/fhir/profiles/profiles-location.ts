/**
 * Where the directory's own profiles are: the folder the server reads them from at start-up (and
 * `build-profiles` writes them to), and the canonical URL base that marks a profile as ours.
 */
import { join } from 'node:path';

export const PROFILES_DIR = join(__dirname, '..', '..', '..', 'profiles');

/** Profiles whose canonical URL starts here are ours: stored resources are validated against them. */
export { DIRECTORY_CANONICAL } from '../directory-canonical';
