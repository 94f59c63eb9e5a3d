/**
 * Registering and changing machine-to-machine clients: the one set of rules the CLI (`fhir-directory
 * clients …`) and the admin API (`/admin/clients`) both apply, and the one JSON shape both show a
 * client in. A client is bound to one implementer Organization (admin clients may have none), has
 * the SMART system scopes it may be granted, and proves itself with a JWKS or a JWKS URL.
 */
import type { ResourceStore } from '../storage/resource-store';
import type {
  ClientChanges,
  ClientCredentials,
  ClientRecord,
  NewClient,
  PublicJwk,
} from '../storage/auth-store';
import { checkJwks, checkJwksUrl, type RegistrationProblem } from './client-keys';
import { INTROSPECT_SCOPE, unknownScopes } from './scopes';

export type { RegistrationProblem };

/** What an implementer's client may be granted when the operator names nothing else: its own directory entries. */
export const DEFAULT_SCOPES: readonly string[] = ['system/Organization.cruds', 'system/Endpoint.cruds'];
/** An operator client: every type the directory keeps (AuditEvents too), and introspection. */
export const ADMIN_DEFAULT_SCOPES: readonly string[] = ['system/*.cruds', INTROSPECT_SCOPE];

const ORGANIZATION_REFERENCE = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
const MAX_NAME = 200;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface ClientRegistration {
  name: string;
  /** `Organization/{id}`; required unless admin. */
  organization?: string;
  admin?: boolean;
  /** DEFAULT_SCOPES (ADMIN_DEFAULT_SCOPES for an admin) when absent. */
  scopes?: readonly string[];
  /** Exactly one of these two. */
  jwks?: unknown;
  jwksUrl?: string;
}

/** What may change (JSON merge patch semantics: `organization: null` removes the binding). */
export interface ClientPatch {
  name?: string;
  organization?: string | null;
  scopes?: readonly string[];
  disabled?: boolean;
  jwks?: unknown;
  jwksUrl?: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: RegistrationProblem[] };

export function checkName(name: string, field = 'name'): RegistrationProblem[] {
  const trimmed = name.trim();
  if (trimmed === '') return [{ field, message: 'must not be empty' }];
  if (trimmed.length > MAX_NAME) return [{ field, message: `must be at most ${MAX_NAME} characters` }];
  if (CONTROL.test(trimmed)) return [{ field, message: 'must not contain control characters' }];
  return [];
}

export function checkOrganization(reference: string, field = 'organization'): RegistrationProblem[] {
  return ORGANIZATION_REFERENCE.test(reference)
    ? []
    : [{ field, message: `must be a reference Organization/<id> (a FHIR id), not "${reference}"` }];
}

/** Scopes as the operator wrote them (a list, or one space-separated string): known ones, no repeats. */
export function checkScopes(scopes: readonly string[], field = 'scopes'): Checked<string[]> {
  const words = [...new Set(scopes.flatMap((s) => s.split(/\s+/)).filter((s) => s !== ''))];
  if (words.length === 0)
    return { ok: false, problems: [{ field, message: 'must name at least one scope' }] };
  const unknown = unknownScopes(words);
  if (unknown.length > 0)
    return {
      ok: false,
      problems: [
        {
          field,
          message: `not understood: ${unknown.join(' ')} (system/<Type or *>.<cruds letters>, the v1 forms .read .write .*, or ${INTROSPECT_SCOPE})`,
        },
      ],
    };
  return { ok: true, value: words };
}

/** The credentials from exactly one of `jwks` / `jwksUrl`. */
async function checkCredentials(
  jwks: unknown,
  jwksUrl: string | undefined,
  fields = { jwks: 'jwks', jwksUrl: 'jwks_url' },
): Promise<Checked<ClientCredentials>> {
  if ((jwks === undefined) === (jwksUrl === undefined))
    return {
      ok: false,
      problems: [{ field: fields.jwks, message: `give exactly one of ${fields.jwks} and ${fields.jwksUrl}` }],
    };
  if (jwksUrl !== undefined) {
    const problems = checkJwksUrl(jwksUrl, fields.jwksUrl);
    return problems.length > 0
      ? { ok: false, problems }
      : { ok: true, value: { kind: 'jwks_url', url: jwksUrl } };
  }
  const problems = await checkJwks(jwks, fields.jwks);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { kind: 'jwks', jwks: { keys: (jwks as { keys: PublicJwk[] }).keys } } };
}

/** Checks a new client; every problem at once. */
export async function checkRegistration(
  input: ClientRegistration,
  fields = { jwks: 'jwks', jwksUrl: 'jwks_url' },
): Promise<Checked<NewClient>> {
  const problems = checkName(input.name);
  const admin = input.admin ?? false;
  if (input.organization !== undefined) problems.push(...checkOrganization(input.organization));
  else if (!admin)
    problems.push({
      field: 'organization',
      message:
        'is required: a client writes for one implementer Organization (only an admin client may have none)',
    });
  const scopes = checkScopes(input.scopes ?? (admin ? ADMIN_DEFAULT_SCOPES : DEFAULT_SCOPES));
  if (!scopes.ok) problems.push(...scopes.problems);
  const credentials = await checkCredentials(input.jwks, input.jwksUrl, fields);
  if (!credentials.ok) problems.push(...credentials.problems);
  if (problems.length > 0 || !scopes.ok || !credentials.ok) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name: input.name.trim(),
      ...(input.organization !== undefined ? { organization: input.organization } : {}),
      admin,
      scopes: scopes.value,
      credentials: credentials.value,
    },
  };
}

/** Checks a change to `current`; every problem at once. */
export async function checkChanges(
  current: ClientRecord,
  patch: ClientPatch,
): Promise<Checked<ClientChanges>> {
  const problems: RegistrationProblem[] = [];
  const changes: ClientChanges = {};
  if (patch.name !== undefined) {
    problems.push(...checkName(patch.name));
    changes.name = patch.name.trim();
  }
  if (patch.organization === null) {
    if (!current.admin)
      problems.push({ field: 'organization', message: 'may be removed only from an admin client' });
    changes.organization = undefined;
  } else if (patch.organization !== undefined) {
    problems.push(...checkOrganization(patch.organization));
    changes.organization = patch.organization;
  }
  if (patch.scopes !== undefined) {
    const scopes = checkScopes(patch.scopes);
    if (scopes.ok) changes.scopes = scopes.value;
    else problems.push(...scopes.problems);
  }
  if (patch.disabled !== undefined) changes.disabled = patch.disabled;
  if (patch.jwks !== undefined || patch.jwksUrl !== undefined) {
    const credentials = await checkCredentials(patch.jwks, patch.jwksUrl);
    if (credentials.ok) changes.credentials = credentials.value;
    else problems.push(...credentials.problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: changes };
}

/**
 * A key rotation that keeps the keys already registered: the old and the new public keys together, so
 * assertions signed with either verify until the operator drops the old one (`remove-key`).
 */
export async function addKeys(
  current: ClientRecord,
  added: PublicJwk[],
): Promise<Checked<ClientCredentials>> {
  if (current.credentials.kind !== 'jwks')
    return {
      ok: false,
      problems: [
        {
          field: 'jwks',
          message: 'the client is registered with a JWKS URL: publish the new key there instead',
        },
      ],
    };
  const jwks = { keys: [...current.credentials.jwks.keys, ...added] };
  const problems = await checkJwks(jwks);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { kind: 'jwks', jwks } };
}

/** The registered keys without the one named `kid` (a rotation's end); at least one key must remain. */
export function removeKey(current: ClientRecord, kid: string): Checked<ClientCredentials> {
  if (current.credentials.kind !== 'jwks')
    return { ok: false, problems: [{ field: 'jwks', message: 'the client is registered with a JWKS URL' }] };
  const keys = current.credentials.jwks.keys.filter((k) => k.kid !== kid);
  if (keys.length === current.credentials.jwks.keys.length)
    return { ok: false, problems: [{ field: 'kid', message: `the client has no key with kid "${kid}"` }] };
  if (keys.length === 0)
    return {
      ok: false,
      problems: [{ field: 'kid', message: 'is the client’s only key; register another first' }],
    };
  return { ok: true, value: { kind: 'jwks', jwks: { keys } } };
}

/**
 * Whether the Organization a client is bound to is in the directory. Not a refusal: an implementer
 * may be registered before its entries are loaded (on a new embedded store the seed is loaded only
 * when the server first starts), but a typing mistake should be seen at once.
 */
export async function organizationNotice(
  store: Pick<ResourceStore, 'read' | 'count'>,
  reference: string,
): Promise<string | undefined> {
  const id = reference.slice('Organization/'.length);
  const stored = await store.read('Organization', id);
  if (stored && !stored.deleted) return undefined;
  if (!stored && (await store.count()) === 0)
    return `${reference} is not in the directory yet: it is empty (the server loads seed-data/ into an empty store when it starts)`;
  return `${reference} is not in the directory${stored ? ' (it was deleted)' : ''}: the client can write nothing until it is`;
}

/** A client as the CLI prints it and the admin API answers it (public keys only: nothing secret is registered). */
export interface ClientView {
  client_id: string;
  name: string;
  organization?: string;
  admin: boolean;
  scopes: string[];
  disabled: boolean;
  credentials: { kind: 'jwks'; jwks: { keys: PublicJwk[] } } | { kind: 'jwks_url'; jwks_url: string };
  created_at: string;
  updated_at: string;
}

export function clientView(client: ClientRecord): ClientView {
  return {
    client_id: client.clientId,
    name: client.name,
    ...(client.organization !== undefined ? { organization: client.organization } : {}),
    admin: client.admin,
    scopes: client.scopes,
    disabled: client.disabled,
    credentials:
      client.credentials.kind === 'jwks'
        ? { kind: 'jwks', jwks: client.credentials.jwks }
        : { kind: 'jwks_url', jwks_url: client.credentials.url },
    created_at: client.createdAt,
    updated_at: client.updatedAt,
  };
}
