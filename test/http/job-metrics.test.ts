/**
 * /metrics after real background work on a real server: an import (resources by outcome, the pass's
 * duration and last success), a sync pass from another directory (its outcomes, the checkpoint's lag
 * behind the pass) and a capability-discovery crawl (checks by status with their durations).
 */
import type { Organization } from '@medplum/fhirtypes';
import { crawl } from '../../src/discovery/crawler';
import { importResources } from '../../src/import/import-resources';
import type { ImportItem } from '../../src/import/read-import-file';
import { runSourcePass } from '../../src/sync/run-source';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { call } from '../helpers/fhir-client';
import { parsePrometheusText, samplesOf, valueOf, type Sample } from '../helpers/prometheus-text';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const PREFIX = 'fhir_directory_';

let dir: TestDirectory;
let upstream: TestDirectory;
let capabilities: TestServer;
let ca: string;

beforeAll(async () => {
  const pki = makeTestPki();
  ca = pki.ca;
  capabilities = await startTestServer(
    (req, res) =>
      req.url?.startsWith('/down/')
        ? sendJson(res, { error: 'down' }, 503)
        : sendJson(res, minimalStatement()),
    pki.valid,
  );
  [dir, upstream] = await Promise.all([startTestDirectory(), startTestDirectory()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([dir?.close(), upstream?.close(), capabilities?.close()]);
});

async function scrape(): Promise<Sample[]> {
  const res = await call('GET', `${new URL(dir.baseUrl).origin}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

const resources = (samples: Sample[], labels: Record<string, string>): number =>
  valueOf(samples, `${PREFIX}source_resources_total`, labels);

it('counts an import by outcome, with its duration and the time it ended', async () => {
  const before = Date.now() / 1000;
  const items = [
    organization({ id: 'm1', name: 'Metrics One' }),
    organization({ id: 'm2', name: 'Metrics Two' }),
    { resourceType: 'Organization', id: 'bad', active: 'yes' },
  ].map((resource, i): ImportItem => ({ source: `entry[${i}]`, resource }));
  const first = await importResources(dir.ctx, items, { fileName: 'metrics.json' });
  expect(first).toMatchObject({ created: 2, rejected: [expect.anything()] });
  await importResources(dir.ctx, items.slice(0, 1), { fileName: 'metrics.json' });
  // A dry run stores nothing and counts nothing.
  await importResources(dir.ctx, items, { fileName: 'metrics.json', dryRun: true });

  const samples = await scrape();
  const file = { job: 'import', source: 'file' };
  expect(resources(samples, { ...file, outcome: 'created' })).toBe(2);
  expect(resources(samples, { ...file, outcome: 'unchanged' })).toBe(1);
  expect(resources(samples, { ...file, outcome: 'rejected' })).toBe(1);
  expect(resources(samples, { ...file, outcome: 'updated' })).toBe(0);
  expect(
    valueOf(samples, `${PREFIX}source_pass_duration_seconds_count`, { ...file, result: 'complete' }),
  ).toBe(2);
  const last = valueOf(samples, `${PREFIX}source_last_success_timestamp_seconds`, file);
  expect(last).toBeGreaterThanOrEqual(Math.floor(before));
  expect(last).toBeLessThanOrEqual(Date.now() / 1000);
});

/** Another NPI than the imported Organizations': a synced entry with theirs would be an identity conflict. */
const upstreamOrganization = (id: string, name = 'Upstream Clinic'): Organization =>
  organization({ id, name, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1245319599' }] });

it('counts a sync pass by outcome per source, and how far its checkpoint is behind the pass', async () => {
  for (const id of ['s1', 's2', 's3'])
    expect((await call('PUT', upstream.url(`/Organization/${id}`), upstreamOrganization(id))).status).toBe(
      201,
    );
  const settings = {
    name: 'upstream',
    from: upstream.baseUrl,
    auth: { kind: 'none' as const },
    tls: {},
    types: ['Organization' as const],
  };
  const first = await runSourcePass({ ctx: dir.ctx, settings });
  expect(first).toMatchObject({ state: 'done', summary: { created: 3, complete: true } });
  expect(
    (await call('PUT', upstream.url('/Organization/s1'), upstreamOrganization('s1', 'Renamed'))).status,
  ).toBe(200);
  expect(await runSourcePass({ ctx: dir.ctx, settings })).toMatchObject({ summary: { updated: 1 } });

  const samples = await scrape();
  const sync = { job: 'sync', source: 'upstream' };
  expect(resources(samples, { ...sync, outcome: 'created' })).toBe(3);
  expect(resources(samples, { ...sync, outcome: 'updated' })).toBe(1);
  expect(resources(samples, { ...sync, outcome: 'rejected' })).toBe(0);
  expect(
    valueOf(samples, `${PREFIX}source_pass_duration_seconds_count`, { ...sync, result: 'complete' }),
  ).toBe(2);
  expect(valueOf(samples, `${PREFIX}source_last_success_timestamp_seconds`, sync)).toBeGreaterThan(0);
  const lag = samplesOf(samples, `${PREFIX}sync_checkpoint_lag_seconds`, {
    source: 'upstream',
    type: 'Organization',
  });
  expect(lag).toHaveLength(1);
  expect(lag[0]?.value).toBeGreaterThanOrEqual(0);
});

it('counts crawl checks by status, with their durations, and the crawl itself', async () => {
  for (const [id, path] of [
    ['up', '/up/'],
    ['down', '/down/'],
  ] as const)
    expect(
      (
        await call(
          'PUT',
          dir.url(`/Endpoint/${id}`),
          endpoint({
            id,
            address: `${capabilities.origin}${path}`,
            managingOrganization: { reference: 'Organization/m1' },
          }),
        )
      ).status,
    ).toBe(201);
  const progress = await crawl(dir.ctx, {
    fetch: {
      allowPrivate: true,
      allowHttp: false,
      connectTimeoutMs: 2_000,
      totalTimeoutMs: 5_000,
      maxBytes: 1 << 20,
      userAgent: 'test',
      ca,
    },
    concurrency: 2,
    holder: 'test',
  });
  expect(progress.checked).toBe(2);

  const samples = await scrape();
  const checks = `${PREFIX}crawl_check_duration_seconds_count`;
  const byStatus = Object.fromEntries(samplesOf(samples, checks).map((s) => [s.labels.status, s.value]));
  expect(byStatus).toEqual(progress.statuses);
  expect(byStatus.ok).toBe(1);
  expect(valueOf(samples, `${PREFIX}crawl_duration_seconds_count`)).toBe(1);
  expect(valueOf(samples, `${PREFIX}crawl_last_end_timestamp_seconds`)).toBeGreaterThan(0);
});
