import type { Migration } from './index';

/**
 * Capability discovery, continued (issue 13): a check also keeps what `[base]/$versions` answered
 * (its HTTP status, the FHIR versions it lists, space-separated, and why it could not be read), and
 * old checks are pruned (DiscoveryStore.pruneChecks): the index on `checked_at` finds the rows older
 * than the summary's window without reading every endpoint's.
 *
 * Numbered 012 after 011-discovery (the lead renumbers if they collide at merge).
 */
export const M012_DISCOVERY_VERSIONS_PRUNING: Migration = {
  id: 12,
  name: 'capability discovery: $versions and pruning',
  sql: `
    ALTER TABLE discovery_check ADD COLUMN versions_http_status integer;
    ALTER TABLE discovery_check ADD COLUMN versions text;
    ALTER TABLE discovery_check ADD COLUMN versions_error text;
    CREATE INDEX discovery_check_checked_at ON discovery_check (checked_at);
  `,
};
