/** The pure access rules (src/security/access-rules.ts): which scope each interaction needs. */
import {
  anonymousMayUse,
  entryInteraction,
  readRefusal,
  writeRefusal,
} from '../../src/security/access-rules';
import type { Principal } from '../../src/security/principal';
import { parseScopes } from '../../src/security/scopes';

const principal = (scopes: string, admin = false): Principal => ({
  clientId: 'c1',
  clientName: 'client one',
  admin,
  scopes: parseScopes(scopes),
  expiresAt: 0,
});

describe('writeRefusal', () => {
  it('names the rule, the scope needed and the scopes granted', () => {
    expect(writeRefusal(principal('system/Endpoint.c'), 'Endpoint', 'update')).toEqual({
      rule: 'update on Endpoint needs scope system/Endpoint.u (granted: system/Endpoint.c)',
      neededScope: 'system/Endpoint.u',
    });
    expect(writeRefusal(principal(''), 'Organization', 'delete')?.rule).toBe(
      'delete on Organization needs scope system/Organization.d (granted: none)',
    );
  });

  it('allows by type or wildcard, v2 letters or v1 forms', () => {
    expect(writeRefusal(principal('system/Endpoint.cud'), 'Endpoint', 'create')).toBeUndefined();
    expect(writeRefusal(principal('system/*.u'), 'Organization', 'update')).toBeUndefined();
    expect(writeRefusal(principal('system/Endpoint.write'), 'Endpoint', 'delete')).toBeUndefined();
    expect(writeRefusal(principal('system/Endpoint.read'), 'Endpoint', 'create')).toBeDefined();
  });

  it('refuses Provenance and AuditEvent to everyone, admin with system/*.cruds included, naming no scope', () => {
    for (const type of ['Provenance', 'AuditEvent']) {
      const refused = writeRefusal(principal('system/*.cruds', true), type, 'create');
      expect(refused?.rule).toBe(`${type} is written by the directory only; no client may create it`);
      expect(refused?.neededScope).toBeUndefined();
    }
  });
});

describe('readRefusal and anonymousMayUse', () => {
  it('under READ_ACCESS=public reads need nothing', () => {
    expect(anonymousMayUse({ kind: 'read', interaction: 'search' }, 'public')).toBe(true);
    expect(readRefusal(undefined, 'public', 'Organization', 'read')).toBeUndefined();
  });

  it('writes and Bundles never go without a token', () => {
    expect(anonymousMayUse({ kind: 'write', interaction: 'create' }, 'public')).toBe(false);
    expect(anonymousMayUse({ kind: 'bundle' }, 'public')).toBe(false);
    expect(anonymousMayUse({ kind: 'read', interaction: 'read' }, 'authenticated')).toBe(false);
  });

  it('under READ_ACCESS=authenticated: r for reads, s for searches, s on every type for system-wide ones', () => {
    const reader = principal('system/Organization.r');
    expect(readRefusal(reader, 'authenticated', 'Organization', 'read')).toBeUndefined();
    expect(readRefusal(reader, 'authenticated', 'Organization', 'search')?.neededScope).toBe(
      'system/Organization.s',
    );
    expect(
      readRefusal(principal('system/Organization.rs system/Endpoint.rs'), 'authenticated', '*', 'search'),
    ).toEqual({
      rule: 'system-wide search or history on every type needs scope system/*.s (granted: system/Organization.rs system/Endpoint.rs)',
      neededScope: 'system/*.s',
    });
    expect(readRefusal(principal('system/*.read'), 'authenticated', '*', 'search')).toBeUndefined();
  });
});

describe('entryInteraction', () => {
  it('maps a Bundle entry method to its scope letter interaction (PUT needs u even when it creates)', () => {
    expect(entryInteraction('POST', false)).toBe('create');
    expect(entryInteraction('PUT', true)).toBe('update');
    expect(entryInteraction('PATCH', true)).toBe('update');
    expect(entryInteraction('DELETE', false)).toBe('delete');
    expect(entryInteraction('GET', true)).toBe('read');
    expect(entryInteraction('GET', false)).toBe('search');
  });
});
