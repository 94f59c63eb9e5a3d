/**
 * T35: the token endpoint's rate limit (TOKEN_RATE_PER_MINUTE), per client the assertion names, per
 * caller address otherwise: over it, 429 with Retry-After and an OAuth error body (`slow_down`), and
 * one client's flood does not stop another client.
 */
import { assertionFor, postForm, registerClient, tokenForm } from '../helpers/auth';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory({ tokenRatePerMinute: 3 });
});
afterAll(() => dir.close());

describe('T35: too many token requests', () => {
  it('are 429 slow_down with Retry-After, per client', async () => {
    const flooding = await registerClient(dir);
    const calm = await registerClient(dir);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await postForm(dir, tokenForm(await assertionFor(dir, flooding), 'system/Endpoint.rs'))).status,
      );
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await postForm(dir, tokenForm(await assertionFor(dir, flooding), 'system/Endpoint.rs'));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      error: 'slow_down',
      error_description: expect.stringContaining('TOKEN_RATE_PER_MINUTE'),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    expect((await postForm(dir, tokenForm(await assertionFor(dir, calm), 'system/Endpoint.rs'))).status).toBe(
      200,
    );
  });

  it('with no registered client named are counted per caller address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await postForm(dir, { grant_type: 'client_credentials' })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
