/**
 * `npm start` as a user runs it: the built server in its own process, seeding an empty store,
 * logging JSON lines, keeping data across restarts, and stopping cleanly on SIGTERM.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../helpers/fhir-client';
import { childDatabaseEnv, runCli, startBuiltServer } from '../helpers/spawn-directory';

let dataDir: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fhir-directory-'));
  ({ env, cleanup } = await childDatabaseEnv(join(dataDir, 'db')));
});
afterAll(async () => {
  await cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the server process', () => {
  it('seeds an empty store, logs one JSON line per request, survives a restart without re-seeding, and exits 0 on SIGTERM', async () => {
    const first = await startBuiltServer(env);
    const orgs = await call('GET', `${first.baseUrl}/Organization?_total=accurate&_count=1`);
    expect(orgs.status).toBe(200);
    expect(orgs.body.total).toBe(320);
    const endpoints = await call('GET', `${first.baseUrl}/Endpoint?_total=accurate&_count=1`);
    expect(endpoints.body.total).toBe(646);
    const metadata = await call('GET', `${first.baseUrl}/metadata`);
    expect(metadata.body.fhirVersion).toBe('4.0.1');
    await call('GET', `${first.baseUrl}/Organization/does-not-exist`, undefined, {
      'x-request-id': 'trace-me-1',
    });
    expect(await first.stop('SIGTERM')).toBe(0);
    const requestLine = first.logLines().find((l) => l.reqId === 'trace-me-1');
    expect(requestLine).toMatchObject({
      method: 'GET',
      path: '/fhir/Organization/does-not-exist',
      status: 404,
    });
    expect(typeof requestLine?.durationMs).toBe('number');

    const second = await startBuiltServer(env);
    const again = await call('GET', `${second.baseUrl}/Organization?_total=accurate&_count=1`);
    expect(again.body.total).toBe(320);
    const history = await call('GET', `${second.baseUrl}/_history?_count=1000`);
    expect(history.body.entry.every((e: any) => e.response.etag === 'W/"1"')).toBe(true);
    expect(await second.stop('SIGTERM')).toBe(0);
    // Two starts, each within START_DEADLINE_MS (150 s), and a few requests.
  }, 330_000);

  it('reports every configuration problem at once and exits 2', async () => {
    const result = await runCli(['serve'], {
      ...env,
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      MAX_BODY_BYTES: '-5',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).toMatch(/LOG_LEVEL/);
    expect(result.stderr).toMatch(/MAX_BODY_BYTES/);
  });
});
