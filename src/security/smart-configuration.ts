/**
 * The SMART configuration document served at `{FHIR base}/.well-known/smart-configuration` (SMART App
 * Launch 2.2 conformance.html): what a backend client needs to find and use the token endpoint. URLs
 * are absolute, from the public FHIR base.
 *
 * Decision: no `authorization_endpoint` and no `authorization_code` grant are advertised, because the
 * directory has neither (machine-to-machine clients only). Inferno's App-Launch discovery test asks
 * for both and fails on that; advertising an authorize endpoint that does not exist would mislead
 * every other client (SECURITY.md §3.1). `code_challenge_methods_supported` is required by the
 * document's schema whatever the grants, so it says S256 only.
 */
import { introspectionEndpointOf, tokenEndpointOf } from './access-control';
import { ASSERTION_ALGORITHMS } from './client-assertion';
import { INTROSPECT_SCOPE } from './scopes';

/** The types implementers write; any directory type may be read with `system/*.rs`. */
const WRITTEN_TYPES = ['Organization', 'Endpoint'];

export const SCOPES_SUPPORTED: readonly string[] = [
  ...WRITTEN_TYPES.flatMap((type) =>
    ['cruds', 'cud', 'rs', 'read', 'write'].map((s) => `system/${type}.${s}`),
  ),
  'system/*.rs',
  'system/*.read',
  INTROSPECT_SCOPE,
];

export interface SmartConfiguration {
  token_endpoint: string;
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  grant_types_supported: string[];
  scopes_supported: string[];
  introspection_endpoint: string;
  capabilities: string[];
  code_challenge_methods_supported: string[];
}

export function smartConfiguration(baseUrl: string): SmartConfiguration {
  return {
    token_endpoint: tokenEndpointOf(baseUrl),
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: [...SCOPES_SUPPORTED],
    introspection_endpoint: introspectionEndpointOf(baseUrl),
    capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
    code_challenge_methods_supported: ['S256'],
  };
}
