/**
 * The authorization server's storage: registered clients, the replay record of client assertions and
 * the access-token signing secret. Same SQL on PostgreSQL and PGlite; every server process on one
 * database sees the same clients, the same replays and the same secret.
 */
import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from './sql-client';
import { SQLSTATE, sqlState } from './sql-client';

/** A public key as a JWK (RFC 7517): `kty` and `kid` required for SMART clients. */
export type PublicJwk = { kty: string; kid?: string; alg?: string; use?: string } & Record<string, unknown>;

/**
 * How a client proves who it is. SMART Backend Services: a JWKS registered with the client, or the
 * URL the directory fetches it from. (UDAP clients, with an X.509 certificate instead, come next as
 * another kind.)
 */
export type ClientCredentials =
  { kind: 'jwks'; jwks: { keys: PublicJwk[] } } | { kind: 'jwks_url'; url: string };

export interface ClientRecord {
  clientId: string;
  name: string;
  /** `Organization/{id}`: the implementer the client writes for. */
  organization?: string;
  admin: boolean;
  /** The scopes the client may be granted (SMART system scopes). */
  scopes: string[];
  credentials: ClientCredentials;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Changes with every change to the client (from one sequence shared by all clients). */
  revision: number;
}

export interface NewClient {
  /** Chosen by the directory when absent. */
  clientId?: string;
  name: string;
  organization?: string;
  admin?: boolean;
  scopes: string[];
  credentials: ClientCredentials;
}

export type ClientChanges = Partial<
  Pick<ClientRecord, 'name' | 'organization' | 'admin' | 'scopes' | 'credentials' | 'disabled'>
>;

export class ClientExistsError extends Error {
  constructor(readonly clientId: string) {
    super(`a client with id ${clientId} already exists`);
    this.name = 'ClientExistsError';
  }
}

export interface AuthStore {
  addClient(client: NewClient): Promise<ClientRecord>;
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** Applies the changes and takes a new revision; undefined when there is no such client. */
  updateClient(clientId: string, changes: ClientChanges): Promise<ClientRecord | undefined>;
  /** The newest revision of any client (0 when there are none): one cheap query to notice changes. */
  clientsRevision(): Promise<number>;
  /**
   * Records that `clientId` used assertion `jti`, valid until `expiresAt`. True the first time; false
   * when the same jti is still recorded and unexpired (a replay). Of two simultaneous calls with one
   * jti, on any processes, exactly one gets true. An expired record may be reused (SMART, UDAP).
   */
  rememberAssertion(clientId: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** The access-token signing secret (base64url, 256 bits), made on first use and shared. */
  tokenSecret(): Promise<string>;
}

interface ClientRow {
  client_id: string;
  name: string;
  organization: string | null;
  admin: boolean;
  scopes: string[];
  credentials: ClientCredentials | string;
  disabled: boolean;
  created_at: string;
  updated_at: string;
  revision: string | number;
}

const CLIENT_COLUMNS = `client_id, name, organization, admin, scopes, credentials, disabled,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at, revision`;

function toClient(row: ClientRow): ClientRecord {
  const client: ClientRecord = {
    clientId: row.client_id,
    name: row.name,
    admin: row.admin,
    scopes: row.scopes,
    credentials:
      typeof row.credentials === 'string'
        ? (JSON.parse(row.credentials) as ClientCredentials)
        : row.credentials,
    disabled: row.disabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revision: Number(row.revision),
  };
  if (row.organization !== null) client.organization = row.organization;
  return client;
}

export function createAuthStore(db: SqlExecutor): AuthStore {
  let secret: string | undefined;
  return {
    async addClient(client) {
      const clientId = client.clientId ?? randomBytes(16).toString('base64url');
      try {
        const rows = await db.query<ClientRow>(
          `INSERT INTO auth_client (client_id, name, organization, admin, scopes, credentials)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${CLIENT_COLUMNS}`,
          [
            clientId,
            client.name,
            client.organization ?? null,
            client.admin ?? false,
            client.scopes,
            JSON.stringify(client.credentials),
          ],
        );
        return toClient(rows[0] as ClientRow);
      } catch (err) {
        if (sqlState(err) === SQLSTATE.uniqueViolation) throw new ClientExistsError(clientId);
        throw err;
      }
    },

    async getClient(clientId) {
      const rows = await db.query<ClientRow>(
        `SELECT ${CLIENT_COLUMNS} FROM auth_client WHERE client_id = $1`,
        [clientId],
      );
      return rows[0] && toClient(rows[0]);
    },

    async listClients() {
      const rows = await db.query<ClientRow>(
        `SELECT ${CLIENT_COLUMNS} FROM auth_client ORDER BY created_at, client_id`,
      );
      return rows.map(toClient);
    },

    async updateClient(clientId, changes) {
      const current = await this.getClient(clientId);
      if (!current) return undefined;
      const next = { ...current, ...changes };
      const rows = await db.query<ClientRow>(
        `UPDATE auth_client SET name = $2, organization = $3, admin = $4, scopes = $5, credentials = $6::jsonb,
           disabled = $7, updated_at = now(), revision = nextval('auth_client_revision')
         WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`,
        [
          clientId,
          next.name,
          next.organization ?? null,
          next.admin,
          next.scopes,
          JSON.stringify(next.credentials),
          next.disabled,
        ],
      );
      return rows[0] && toClient(rows[0]);
    },

    async clientsRevision() {
      const rows = await db.query<{ revision: string | number | null }>(
        'SELECT max(revision) AS revision FROM auth_client',
      );
      return Number(rows[0]?.revision ?? 0);
    },

    async rememberAssertion(clientId, jti, expiresAt) {
      // A live record blocks the insert; an expired one is taken over (its jti may be reused now).
      const rows = await db.query(
        `INSERT INTO auth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE auth_assertion_jti.expires_at < now()
         RETURNING 1 AS taken`,
        [clientId, jti, expiresAt.toISOString()],
      );
      if (rows.length > 0 && Math.random() < 0.02)
        await db.query("DELETE FROM auth_assertion_jti WHERE expires_at < now() - interval '1 minute'");
      return rows.length > 0;
    },

    async tokenSecret() {
      if (secret) return secret;
      await db.query('INSERT INTO auth_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [
        randomBytes(32).toString('base64url'),
      ]);
      const rows = await db.query<{ secret: string }>('SELECT secret FROM auth_secret WHERE id = 1');
      secret = rows[0]?.secret;
      if (!secret) throw new Error('the database kept no token secret');
      return secret;
    },
  };
}
