import type { Migration } from './index';

/**
 * The authorization server's tables. `auth_client`: the registered machine-to-machine clients, each
 * bound to an implementer Organization, with the credentials its assertions are checked against
 * (`credentials` is a tagged JSON value so a UDAP client can be added without a migration), and a
 * `revision` from one sequence that every change takes, so a server process notices any change
 * (revocation) with one cheap query. `auth_assertion_jti`: each client assertion's `jti`, kept until the
 * assertion expires; the primary key makes a replay fail in the database, whichever process sees it.
 * `auth_secret`: the key access tokens are signed with, made once and shared by every process on the
 * database.
 */
export const M008_AUTH: Migration = {
  id: 8,
  name: 'authorization server: clients, assertion replay, token secret',
  sql: `
    CREATE SEQUENCE auth_client_revision;
    CREATE TABLE auth_client (
      client_id text PRIMARY KEY,
      name text NOT NULL,
      organization text,
      admin boolean NOT NULL DEFAULT false,
      scopes text[] NOT NULL,
      credentials jsonb NOT NULL,
      disabled boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      revision bigint NOT NULL DEFAULT nextval('auth_client_revision')
    );
    CREATE TABLE auth_assertion_jti (
      client_id text NOT NULL,
      jti text NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (client_id, jti)
    );
    CREATE INDEX auth_assertion_jti_expires ON auth_assertion_jti (expires_at);
    CREATE TABLE auth_secret (
      id integer PRIMARY KEY CHECK (id = 1),
      secret text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
