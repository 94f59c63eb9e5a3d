/**
 * /metrics with WORKERS=2 (README "Operate it"): a scrape reaches one worker, and speaks for the whole
 * server: the requests every worker answered, added up, whichever worker the scrape reaches. Real
 * spawned processes on PostgreSQL (PGlite serves with one process: test/cli/workers.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, samplesOf, type Sample } from '../helpers/prometheus-text';
import { childDatabaseEnv, startBuiltServer } from '../helpers/spawn-directory';
import { onPostgres } from '../helpers/test-directory';

/** GET on a connection of its own (the primary hands connections to the workers in turn). */
function fresh(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const found = probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const metadataReads = (samples: Sample[]): number =>
  samplesOf(samples, 'fhir_directory_http_request_duration_seconds_count', { method: 'GET', status: '200' })
    .filter((s) => s.labels.route?.endsWith('metadata'))
    .reduce((n, s) => n + s.value, 0);

(onPostgres() ? describe : describe.skip)('WORKERS=2: /metrics', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fhir-directory-workers-metrics-'));
    ({ env, cleanup } = await childDatabaseEnv(join(work, 'db')));
  });
  afterAll(async () => {
    await cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('adds up every worker’s series, whichever worker a scrape reaches', async () => {
    const server = await startBuiltServer({ ...env, WORKERS: '2', SEED: 'false' });
    try {
      await waitFor('all workers listening', () =>
        server.logLines().find((l) => l.msg === 'all workers listening'),
      );
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const id = `metrics-${i}`;
        ids.push(id);
        expect((await fresh(`${server.baseUrl}/metadata`, { 'x-request-id': id })).status).toBe(200);
      }
      const pids = await waitFor('the request log lines', () => {
        const lines = server.logLines().filter((l) => ids.includes(l.reqId as string));
        return lines.length === ids.length ? new Set(lines.map((l) => l.pid)) : undefined;
      });
      expect(pids.size).toBe(2);

      for (let scrape = 0; scrape < 4; scrape++) {
        const res = await fresh(`${server.origin}/metrics`);
        expect(res.status).toBe(200);
        const samples = parsePrometheusText(res.text);
        expect(metadataReads(samples)).toBe(6);
        // One info series for the server, not one a worker; process metrics of both workers added.
        expect(samplesOf(samples, 'fhir_directory_info')).toHaveLength(1);
        expect(samplesOf(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
      }
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 300_000);
});
