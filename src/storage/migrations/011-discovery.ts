import type { Migration } from './index';

/**
 * Capability discovery (issue 13). `discovery_check`: every check of a FHIR Endpoint the crawler
 * made, kept as it was seen (the Endpoint's discovery summary is derived from these rows: availability
 * over 30 days, median response time). One row per check of an endpoint: its `/metadata` fetch (the
 * columns without a prefix) and its `.well-known/smart-configuration` and `.well-known/udap` fetches.
 * The index serves the summary's one query per endpoint (its checks of the last 30 days).
 *
 * `discovery_lease`: which process is checking which Endpoint now, so several server processes (or a
 * server and `fhir-directory discover`) on one database never check one endpoint at the same time. A
 * lease is a row taken by an upsert that only succeeds when no live lease exists; it expires by
 * itself, so a process that died leaves nothing locked for long. (Session advisory locks would tie a
 * pool connection to each endpoint for the whole check, up to minutes.)
 *
 * Numbered 010: 009 is the source registry (the lead renumbers if they collide at merge).
 */
export const M011_DISCOVERY: Migration = {
  id: 11,
  name: 'capability discovery: checks and leases',
  sql: `
    CREATE TABLE discovery_check (
      id bigserial PRIMARY KEY,
      endpoint_id text NOT NULL,
      checked_at timestamptz NOT NULL DEFAULT now(),
      address text NOT NULL,
      status text NOT NULL,
      http_status integer,
      response_ms integer,
      tls_version text,
      certificate_expires timestamptz,
      mime_type text,
      error text,
      smart_http_status integer,
      smart_error text,
      udap_http_status integer,
      udap_error text
    );
    CREATE INDEX discovery_check_endpoint ON discovery_check (endpoint_id, checked_at);
    CREATE TABLE discovery_lease (
      endpoint_id text PRIMARY KEY,
      holder text NOT NULL,
      expires_at timestamptz NOT NULL
    );
  `,
};
