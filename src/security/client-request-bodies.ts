/**
 * The admin API's JSON bodies (`POST /admin/clients`, `PATCH /admin/clients/{id}`): their shape is
 * checked with ajv (types, no unknown fields), every problem named by its field; what the values mean
 * is then checked by client-registration.ts, as for the CLI.
 */
import Ajv, { type ErrorObject } from 'ajv';
import type { ClientPatch, ClientRegistration, Checked, RegistrationProblem } from './client-registration';

const scopes = { type: 'array', items: { type: 'string', maxLength: 200 }, minItems: 1, maxItems: 100 };
const name = { type: 'string', maxLength: 200 };

const NEW_CLIENT = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name,
    organization: { type: 'string' },
    admin: { type: 'boolean' },
    scopes,
    jwks: { type: 'object' },
    jwks_url: { type: 'string', maxLength: 2000 },
  },
};

// JSON merge patch (RFC 7396): a member present changes that field; `organization: null` removes it.
const CLIENT_PATCH = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name,
    organization: { type: ['string', 'null'] },
    scopes,
    disabled: { type: 'boolean' },
    jwks: { type: 'object' },
    jwks_url: { type: 'string', maxLength: 2000 },
  },
};

interface NewClientBody {
  name: string;
  organization?: string;
  admin?: boolean;
  scopes?: string[];
  jwks?: object;
  jwks_url?: string;
}

type PatchBody = Omit<NewClientBody, 'admin' | 'organization'> & {
  organization?: string | null;
  disabled?: boolean;
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateNewClient = ajv.compile<NewClientBody>(NEW_CLIENT);
const validatePatch = ajv.compile<PatchBody>(CLIENT_PATCH);

/** `/scopes/0` → `scopes[0]`. */
function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : `${i > 0 ? '.' : ''}${part}`))
    .join('');
}

function problemsOf(errors: ErrorObject[] | null | undefined, allowed: object): RegistrationProblem[] {
  return (errors ?? []).map((err) => {
    if (err.keyword === 'additionalProperties') {
      const field = (err.params as { additionalProperty: string }).additionalProperty;
      return { field, message: `is not a field here (fields: ${Object.keys(allowed).join(', ')})` };
    }
    if (err.keyword === 'required')
      return { field: (err.params as { missingProperty: string }).missingProperty, message: 'is required' };
    return { field: fieldOf(err.instancePath) || '(body)', message: err.message ?? 'is not valid' };
  });
}

export function parseNewClientBody(body: unknown): Checked<ClientRegistration> {
  if (!validateNewClient(body))
    return { ok: false, problems: problemsOf(validateNewClient.errors, NEW_CLIENT.properties) };
  const b = body;
  return {
    ok: true,
    value: {
      name: b.name,
      ...(b.organization !== undefined ? { organization: b.organization } : {}),
      ...(b.admin !== undefined ? { admin: b.admin } : {}),
      ...(b.scopes !== undefined ? { scopes: b.scopes } : {}),
      ...(b.jwks !== undefined ? { jwks: b.jwks } : {}),
      ...(b.jwks_url !== undefined ? { jwksUrl: b.jwks_url } : {}),
    },
  };
}

export function parseClientPatchBody(body: unknown): Checked<ClientPatch> {
  if (!validatePatch(body))
    return { ok: false, problems: problemsOf(validatePatch.errors, CLIENT_PATCH.properties) };
  const b = body;
  return {
    ok: true,
    value: {
      ...(b.name !== undefined ? { name: b.name } : {}),
      ...(b.organization !== undefined ? { organization: b.organization } : {}),
      ...(b.scopes !== undefined ? { scopes: b.scopes } : {}),
      ...(b.disabled !== undefined ? { disabled: b.disabled } : {}),
      ...(b.jwks !== undefined ? { jwks: b.jwks } : {}),
      ...(b.jwks_url !== undefined ? { jwksUrl: b.jwks_url } : {}),
    },
  };
}
