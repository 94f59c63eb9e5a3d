/**
 * $export polling scope under READ_ACCESS=authenticated: a client whose scopes allow searching the
 * exported types (no system-wide read scope) kicks off a type-level export, polls it and downloads
 * its files; a token of the same client that no longer covers the job's types gets 403 naming the
 * scope; another client, even with a system-wide read scope, 404 (the job's URLs are the client's);
 * no token, 401.
 */
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { download, kickOff, poll } from '../helpers/bulk-client';
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory({ readAccess: 'authenticated' });
  for (let i = 0; i < 3; i++)
    expect((await call('POST', dir.url('/Organization'), organization({ name: `Scoped ${i}` }))).status).toBe(
      201,
    );
}, 240_000);
afterAll(() => dir.close());

it('a client scoped to the exported type polls and downloads its own job; others cannot', async () => {
  const typed = await registerClient(dir, { scopes: ['system/Organization.rs', 'system/Endpoint.rs'] });
  const token = bearer(await tokenFor(dir, typed));
  // System level reads every type: it still needs a system-wide read scope.
  const system = await call('GET', dir.url('/$export?_type=Organization'), undefined, {
    ...token,
    prefer: 'respond-async',
  });
  expect(system.status).toBe(403);

  const statusUrl = await kickOff(dir.url('/Organization/$export'), token);
  const { manifest } = await poll(statusUrl, token);
  expect(manifest.output.map((o) => [o.type, o.count])).toEqual([['Organization', 3]]);
  const fileUrl = manifest.output[0]?.url as string;
  expect((await download(fileUrl, token)).length).toBe(3);

  // The same client with a token that does not cover Organization: 403, naming the scope.
  const narrowed = bearer(await tokenFor(dir, typed, 'system/Endpoint.rs'));
  const refused = await fetch(statusUrl, { headers: narrowed });
  expect(refused.status).toBe(403);
  expect(await refused.text()).toContain('system/Organization.s');
  expect((await fetch(fileUrl, { headers: narrowed })).status).toBe(403);

  // Another client, even one that may read everything: the job is not its own.
  const other = bearer(await tokenFor(dir, await registerClient(dir, { scopes: ['system/*.rs'] })));
  expect((await fetch(statusUrl, { headers: other })).status).toBe(404);
  expect((await fetch(fileUrl, { headers: other })).status).toBe(404);
  expect((await fetch(statusUrl, { method: 'DELETE', headers: other })).status).toBe(404);
  expect((await fetch(statusUrl)).status).toBe(401);

  // Its owner cancels it.
  expect((await fetch(statusUrl, { method: 'DELETE', headers: token })).status).toBe(202);
  expect((await fetch(statusUrl, { headers: token })).status).toBe(404);
});
