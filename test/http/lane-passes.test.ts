/**
 * The hit lane remembers the access guard's pass for a token on a cached key (src/http/lane-passes.ts)
 * and must still refuse, through the cache, exactly what the guard would: a client disabled or its
 * scopes narrowed (within the issue's 5 s, with no explicit refresh: the Authenticator's own poll),
 * a token that expired. The memo stays within its entry and byte limits.
 */
import { signAccessToken } from '../../src/security/access-token';
import { tokenEndpointOf } from '../../src/security/access-control';
import type { Authenticator } from '../../src/security/authenticator';
import { LanePasses } from '../../src/http/lane-passes';
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { call, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

/** The issue's bound: a revoked client is refused by every process within 5 s. */
const REVOCATION_BOUND_MS = 5000;

/**
 * Repeats `request` until `refused` says its answer is the refusal, for at most `boundMs`: the
 * answer that ended the wait (the last one if none did).
 */
async function firstRefusal(
  request: () => Promise<FhirResponse>,
  refused: (res: FhirResponse) => boolean,
  boundMs: number,
): Promise<{ res: FhirResponse; inTime: boolean }> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const res = await request();
    if (refused(res)) return { res, inTime: Date.now() <= deadline };
    if (Date.now() > deadline) return { res, inTime: false };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each([['authenticated' as const], ['public' as const]])(
  'READ_ACCESS=%s: a remembered pass on a cached search',
  (readAccess) => {
    let dir: TestDirectory;
    const url = (): string => dir.url('/Organization?name=Lane');
    beforeAll(async () => {
      dir = await startTestDirectory({ readAccess });
      await call(
        'PUT',
        dir.url('/Organization/lane-org'),
        organization({ id: 'lane-org', name: 'Lane Clinic' }),
      );
    });
    afterAll(() => dir.close());

    /** A reader's token, seen through the lane twice (the second time on its remembered pass). */
    async function readerOnTheLane(): Promise<{ clientId: string; token: string }> {
      const reader = await registerClient(dir, { admin: true, scopes: ['system/Organization.rs'] });
      const token = await tokenFor(dir, reader);
      await call('GET', url(), undefined, bearer(token));
      for (let i = 0; i < 2; i += 1) {
        const hit = await call('GET', url(), undefined, bearer(token));
        expect(hit.status).toBe(200);
        expect(hit.headers.get('x-cache')).toBe('hit');
      }
      return { clientId: reader.client.clientId, token };
    }

    it('ends within 5 s when the client is disabled: 401 login through the cache', async () => {
      const { clientId, token } = await readerOnTheLane();
      await dir.store.auth.updateClient(clientId, { disabled: true });
      const { res, inTime } = await firstRefusal(
        () => call('GET', url(), undefined, bearer(token)),
        (r) => r.status !== 200,
        REVOCATION_BOUND_MS,
      );
      expectOutcome(res, 401);
      expect(issuesOf(res)[0]?.code).toBe('login');
      expect(inTime).toBe(true);
    });

    it('ends when the client is left without the scope: 403 under authenticated, still 200 under public', async () => {
      const { clientId, token } = await readerOnTheLane();
      await dir.store.auth.updateClient(clientId, { scopes: ['system/Endpoint.rs'] });
      if (readAccess === 'public') {
        // Reads need no scope: the narrowed token still reads, once the change is seen.
        await dir.ctx.access?.authenticator.refresh();
        expect((await call('GET', url(), undefined, bearer(token))).status).toBe(200);
        return;
      }
      const { res, inTime } = await firstRefusal(
        () => call('GET', url(), undefined, bearer(token)),
        (r) => r.status !== 200,
        REVOCATION_BOUND_MS,
      );
      expectOutcome(res, 403);
      expect(res.headers.get('www-authenticate')).toContain('scope="system/Organization.s"');
      expect(inTime).toBe(true);
    });

    it('ends when the token expires: 401 expired through the cache', async () => {
      const reader = await registerClient(dir, { admin: true, scopes: ['system/Organization.rs'] });
      const { token, claims } = await signAccessToken(
        {
          issuer: tokenEndpointOf(dir.baseUrl),
          audience: dir.baseUrl,
          secret: Buffer.from(await dir.store.auth.tokenSecret(), 'base64url'),
        },
        reader.client.clientId,
        'system/Organization.rs',
        2,
      );
      await call('GET', url(), undefined, bearer(token));
      expect((await call('GET', url(), undefined, bearer(token))).headers.get('x-cache')).toBe('hit');
      const { res } = await firstRefusal(
        () => call('GET', url(), undefined, bearer(token)),
        (r) => r.status !== 200,
        (claims.expiresAt + 1) * 1000 - Date.now(),
      );
      expectOutcome(res, 401);
      expect(issuesOf(res)[0]?.code).toBe('expired');
    });
  },
);

describe('the memo of passes', () => {
  let dir: TestDirectory;
  let authenticator: Authenticator;
  beforeAll(async () => {
    dir = await startTestDirectory();
    authenticator = dir.ctx.access?.authenticator as Authenticator;
  });
  afterAll(() => dir.close());

  const later = (): number => Math.floor(Date.now() / 1000) + 300;

  it('keeps at most maxEntries token × key pairs, dropping the oldest tokens first', () => {
    const passes = new LanePasses(authenticator, { maxEntries: 3, maxBytes: 1 << 20 });
    const [k1, k2, k3] = [{}, {}, {}];
    const revision = passes.revision();
    passes.remember('Bearer a', k1, revision, later());
    passes.remember('Bearer a', k2, revision, later());
    passes.remember('Bearer b', k1, revision, later());
    expect(passes.entries).toBe(3);
    passes.remember('Bearer c', k3, revision, later());
    expect(passes.entries).toBeLessThanOrEqual(3);
    expect(passes.passes('Bearer a', k1)).toBe(false);
    expect(passes.passes('Bearer b', k1)).toBe(true);
    expect(passes.passes('Bearer c', k3)).toBe(true);
    expect(passes.passes('Bearer c', k1)).toBe(false); // a pass is per key
  });

  it('keeps at most maxBytes, counting each token by its length', () => {
    const passes = new LanePasses(authenticator, { maxEntries: 1000, maxBytes: 2000 });
    const revision = passes.revision();
    const long = (n: number): string => `Bearer ${String(n).repeat(300)}`;
    for (let n = 1; n <= 9; n += 1) {
      passes.remember(long(n), {}, revision, later());
      expect(passes.bytes).toBeLessThanOrEqual(2000);
    }
    expect(passes.entries).toBeGreaterThan(0);
    expect(passes.entries).toBeLessThan(9);
    // A token that could never fit is not remembered at all.
    const tooLong = new LanePasses(authenticator, { maxEntries: 1000, maxBytes: 100 });
    tooLong.remember(long(1), {}, revision, later());
    expect(tooLong.entries).toBe(0);
    expect(tooLong.bytes).toBe(0);
  });

  it('a pass made at an older clients revision, or for an expired token, does not stand', async () => {
    const passes = new LanePasses(authenticator, { maxEntries: 10, maxBytes: 1 << 20 });
    const key = {};
    const stale = passes.revision();
    passes.remember('Bearer old', key, stale, later());
    passes.remember('Bearer gone', key, stale, Math.floor(Date.now() / 1000) - 1);
    expect(passes.passes('Bearer gone', key)).toBe(false);
    expect(passes.passes('Bearer old', key)).toBe(true);
    await registerClient(dir, { admin: true, scopes: ['system/Organization.rs'] }); // moves the revision
    expect(passes.revision()).not.toBe(stale);
    expect(passes.passes('Bearer old', key)).toBe(false);
    expect(passes.entries).toBe(0);
  });
});
