/**
 * T17 under a race: of simultaneous token requests carrying one assertion (one jti), exactly one gets
 * a token, on one server and across two servers sharing the database (on PostgreSQL, two stores with
 * pools of their own, as two server processes have; on PGlite, two servers over the one store).
 */
import { tokenEndpointOf } from '../../src/security/access-control';
import { assertionFor, postForm, registerClient, tokenForm, type TestClient } from '../helpers/auth';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let first: TestDirectory;
let second: TestDirectory;
let client: TestClient;

beforeAll(async () => {
  first = await startTestDirectory({ tokenRatePerMinute: 0 });
  second = await startTestDirectory({ store: await first.openSecondStore(), tokenRatePerMinute: 0 });
  client = await registerClient(first);
});
afterAll(async () => {
  await second.close();
  await first.close();
});

/** One assertion both servers accept (each has its own port, so its own token URL: aud names both). */
const sharedAssertion = (): Promise<string> =>
  assertionFor(first, client, {
    claims: { aud: [tokenEndpointOf(first.baseUrl), tokenEndpointOf(second.baseUrl)] },
  });

describe('a replayed jti under a race', () => {
  it('the shared assertion is good on either server alone', async () => {
    expect((await postForm(second, tokenForm(await sharedAssertion(), 'system/Endpoint.rs'))).status).toBe(
      200,
    );
  });

  it('of 8 simultaneous requests to one server with one assertion, exactly one gets a token', async () => {
    const form = tokenForm(await assertionFor(first, client), 'system/Endpoint.rs');
    const answers = await Promise.all(Array.from({ length: 8 }, () => postForm(first, form)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
    for (const a of answers.filter((x) => x.status === 401)) expect(a.body.error).toBe('invalid_client');
  });

  it('of simultaneous requests to two servers on one database with one assertion, exactly one gets a token', async () => {
    for (let round = 0; round < 5; round++) {
      const form = tokenForm(await sharedAssertion(), 'system/Endpoint.rs');
      const answers = await Promise.all([
        postForm(first, form),
        postForm(second, form),
        postForm(first, form),
        postForm(second, form),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401]);
    }
  });
});
