/** What every FHIR interaction receives: its dependencies, passed in, never module singletons. */
import type { ExportSettings } from '../export/export-settings';
import type { JobMetrics } from '../observability/job-metrics';
import type { AccessControl } from '../security/access-control';
import type { ResourceStore } from '../storage/resource-store';
import type { RequestLimits } from './limits';
import type { DirectoryProfiles } from './profiles/directory-profiles';
import type { ResponseCache } from './search/response-cache';
import type { ResourceValidator } from './validation/resource-validator';
import type { ValidationThreads } from './validation/validation-threads';

export interface FhirContext {
  store: ResourceStore;
  validator: ResourceValidator;
  /** VALIDATION_THREADS: the bulk paths (import chunks, sync pages, large Bundles) validate there; absent: here. */
  validationThreads?: ValidationThreads;
  /** The public FHIR base used in links, without a trailing slash, e.g. https://dir.example.org/fhir. */
  baseUrl: string;
  /** The directory's profiles (profiles/): validation, meta.profile, $validate, the CapabilityStatement. */
  profiles: DirectoryProfiles;
  /** Whether writes are validated against `profiles` (and then declare them in meta.profile). */
  enforceProfiles: boolean;
  /** How much work one request may ask for; a request over a limit is a 400/413 naming it. */
  limits: Readonly<RequestLimits>;
  /** Search and history responses keyed by query and store head; absent when disabled. */
  responseCache?: ResponseCache;
  /**
   * Set (admin-only.ts withoutCache) when the answer may hold what only admin clients read: neither
   * the response cache nor any HTTP cache keeps it (revalidation.ts ADMIN_ONLY_CACHING).
   */
  adminOnlyAnswer?: true;
  /**
   * Tokens, read policy, security events and rate limits (src/security). Absent where no HTTP client
   * can reach the context (the CLI's import and reindex): the directory itself is then the actor.
   */
  access?: AccessControl;
  /** Bulk Data $export (src/export/); absent where no HTTP client can reach the context. */
  exports?: ExportSettings;
  /** What imports, sync passes and crawls did, for /metrics (createFhirContext always makes one). */
  jobMetrics?: JobMetrics;
}
