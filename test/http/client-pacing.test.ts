/**
 * Pacing of a client's costly requests (CLIENT_DB_SHARE, COSTLY_REQUEST_MS; owner-pacing.ts): a
 * client alone is never held back; while another client's request is under way, a client whose
 * requests used its share of the database waits before its next statement, and its answers stay the
 * same; the waits are counted on /metrics. Every request counts as costly here (COSTLY_REQUEST_MS 0),
 * so that the test needs no slow search.
 */
import { request, type ClientRequest } from 'node:http';
import { parsePrometheusText, valueOf } from '../helpers/prometheus-text';
import { collect, type RawResponse } from '../helpers/raw-http';
import { organization } from '../helpers/resources';
import { call } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const PACED = 'fhir_directory_paced_statements_total';
const WAITED = 'fhir_directory_paced_wait_seconds_total';

let dir: TestDirectory;
beforeAll(async () => {
  // No response cache: every search sends its statements.
  dir = await startTestDirectory({ searchCacheMb: 0, pacing: { share: 0.25, costlyMs: 0 } });
  for (const name of ['Pacing Clinic North', 'Pacing Clinic South'])
    expect((await call('POST', dir.url('/Organization'), organization({ name }))).status).toBe(201);
});
afterAll(() => dir.close());

/** An anonymous GET from `localAddress` (each 127.x address is another client to the server). */
function get(path: string, localAddress: string): Promise<RawResponse> {
  const url = new URL(dir.url(path));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, localAddress },
      (res) => collect(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end();
  });
}

async function pacing(): Promise<{ paced: number; waited: number }> {
  const res = await call('GET', `${new URL(dir.baseUrl).origin}/metrics`);
  expect(res.status).toBe(200);
  const samples = parsePrometheusText(res.text);
  return { paced: valueOf(samples, PACED), waited: valueOf(samples, WAITED) };
}

/** Starts a POST _search from another client that stays under way until the returned function ends it. */
function heldRequest(): Promise<() => void> {
  const url = new URL(dir.url('/Organization/_search'));
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      localAddress: '127.0.0.3',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '100' },
    });
    req.once('error', reject);
    req.write('name=Pacing', () => {
      req.off('error', reject);
      req.on('error', () => undefined); // destroyed on purpose at the end
      resolve(() => req.destroy());
    });
  });
}

const SEARCH = '/Organization?name=Pacing&_sort=name&_total=accurate';

describe('pacing a client’s costly requests', () => {
  it('never holds back a client that is alone', async () => {
    const before = await pacing();
    for (let i = 0; i < 4; i++) {
      const res = await get(SEARCH, '127.0.0.2');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).total).toBe(2);
    }
    expect((await pacing()).paced).toBe(before.paced);
  });

  it('never holds back a client alone with several requests at once (told apart by address and token)', async () => {
    const before = await pacing();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([0, 1, 2, 3].map(() => get(SEARCH, '127.0.0.2')));
      for (const res of answers) expect(res.status).toBe(200);
    }
    expect((await pacing()).paced).toBe(before.paced);
  });

  it('holds a client back while another client’s request is under way, answers unchanged', async () => {
    const before = await pacing();
    const end = await heldRequest();
    try {
      const answers: RawResponse[] = [];
      for (let i = 0; i < 3; i++) answers.push(await get(SEARCH, '127.0.0.2'));
      for (const res of answers) {
        expect(res.status).toBe(200);
        const bundle = JSON.parse(res.text);
        expect(bundle.total).toBe(2);
        expect(bundle.entry.map((e: { resource: { name: string } }) => e.resource.name)).toEqual([
          'Pacing Clinic North',
          'Pacing Clinic South',
        ]);
      }
    } finally {
      end();
    }
    const after = await pacing();
    expect(after.paced).toBeGreaterThan(before.paced);
    expect(after.waited).toBeGreaterThan(before.waited);
  });
});
