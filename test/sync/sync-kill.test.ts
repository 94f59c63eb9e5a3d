/**
 * The sync CLI (built, from dist/) killed with SIGKILL at random points and started again until a
 * pass completes: B converges to A, with no duplicate entry, no extra version of an unchanged entry,
 * and after every kill the checkpoint in directory_source is never ahead of what B committed (every
 * version of A at or before the checkpoint is in B as A has it).
 *
 * The kill points are random in two ways: a random delay after the pass's first request to A, and
 * a random request number at which the proxy in front of A kills the process (before answering, or
 * just after). The proxy also asks A for small pages (`_count` 20) and slows each a little, so a pass
 * has many pages and page transactions to be killed between or inside. Seeded randomness: the seed
 * is printed, so a failing sequence can be replayed (SYNC_KILL_SEED).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Bundle, Organization } from '@medplum/fhirtypes';
import { openStore } from '../../src/directory';
import type { ResourceStore } from '../../src/storage/resource-store';
import { localId } from '../../src/sync/local-identity';
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { childDatabaseEnv, ROOT } from '../helpers/spawn-directory';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { canonical, comparable, currentResources, npi, startFake, type FakeUpstream } from './sync-helpers';

const ORGS = 160;
const seed = Number(process.env.SYNC_KILL_SEED ?? Date.now() % 100_000);
let state = seed;
/** A small deterministic generator (mulberry32), so a seed replays a sequence of kills. */
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

let a: TestDirectory;
let proxy: FakeUpstream;
let work: string;
let childEnv: NodeJS.ProcessEnv;
/** Opens the child's database from the test (between runs on PGlite: one process at a time). */
let openChildStore: () => Promise<ResourceStore>;
let dropChildDatabase: () => Promise<void> = () => Promise.resolve();

/** The running child, and when the proxy is to kill it (its n-th request to A; 0: not by count). */
let child: ChildProcess | undefined;
let killAtRequest = 0;
let killAfterAnswer = false;
let requests = 0;

function killChild(): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function putOrganizations(from: number, to: number, name: (n: number) => string): Promise<void> {
  const entry = [];
  for (let n = from; n < to; n++) {
    const id = `k-${n}`;
    entry.push({
      request: { method: 'PUT', url: `Organization/${id}` },
      resource: {
        ...organization({
          name: name(n),
          identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi(500 + n) }],
        }),
        id,
      },
    });
  }
  const r = await call<Bundle>('POST', a.url(''), { resourceType: 'Bundle', type: 'transaction', entry });
  if (r.status !== 200) throw new Error(`transaction: ${r.status} ${r.text}`);
}

beforeAll(async () => {
  process.stdout.write(`sync-kill seed ${seed} (SYNC_KILL_SEED=${seed} replays it)\n`);
  a = await startTestDirectory();
  for (let from = 0; from < ORGS; from += 80) await putOrganizations(from, from + 80, (n) => `Kill ${n}`);
  const app = express();
  app.use(async (req, res) => {
    const n = ++requests;
    if (n === killAtRequest && !killAfterAnswer) {
      killChild();
      res.socket?.destroy();
      return;
    }
    const url = req.url.replace(/^\/fhir/, '').replace(/([?&]_count=)\d+/, '$120');
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 60)));
    const upstream = await fetch(`${a.baseUrl}${url}`, { headers: { accept: 'application/fhir+json' } });
    const text = (await upstream.text()).split(a.baseUrl).join(proxy.base);
    res.status(upstream.status).type('application/fhir+json').send(text);
    if (n === killAtRequest) killChild();
  });
  proxy = await startFake(app);

  work = await mkdtemp(join(tmpdir(), 'fhir-directory-sync-kill-'));
  // On PGlite B starts as a copy of the run's migrated template: no test here is about migrating,
  // and every kill comes after the pass's first request, long after the migrations.
  const dataDir = join(work, 'db');
  const database = await childDatabaseEnv(dataDir, { migrated: true });
  childEnv = { ...database.env, SEED: 'false', LOG_LEVEL: 'silent' };
  const databaseUrl = childEnv.DATABASE_URL;
  openChildStore = () => openStore(databaseUrl ? { databaseUrl } : { dataDir });
  dropChildDatabase = database.cleanup;
}, 300_000);

afterAll(async () => {
  killChild();
  await proxy?.close();
  await a?.close();
  await dropChildDatabase();
  if (work) await rm(work, { recursive: true, force: true });
});

/** One run of the CLI; resolves with its exit code (null when killed) and output. */
function runOnce(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const started = spawn(
      process.execPath,
      [
        join(ROOT, 'dist', 'cli', 'index.js'),
        'sync',
        '--from',
        proxy.base,
        '--name',
        'a',
        '--types',
        'Organization',
        '--once',
      ],
      { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    let stdout = '';
    started.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    started.stderr?.resume();
    started.once('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

/** The invariants that hold after any kill: no duplicates, no extra versions, checkpoint not ahead. */
async function checkInvariants(
  expectedVersion: (id: string) => string,
): Promise<{ converged: boolean; leaseLeft: boolean }> {
  const b = await openChildStore();
  try {
    const held = [...(await currentResources(b, 'Organization')).values()].filter((r) =>
      r.id?.startsWith('a.'),
    );
    const npis = held.map((r) => (r as Organization).identifier?.[0]?.value);
    expect(new Set(npis).size).toBe(held.length); // no entry twice
    // No extra version: never more than A's changes make (mid-pass, an entry may not have its new one yet).
    const versions = held.map((r) => [
      r.id,
      Number(r.meta?.versionId),
      Number(expectedVersion(r.id as string)),
    ]);
    for (const [id, version, most] of versions)
      expect([id, version]).toEqual([id, Math.min(version as number, most as number)]);

    const checkpoint = (await b.sources.get('a'))?.checkpoint as
      { types?: { Organization?: { since?: string } } } | undefined;
    const since = checkpoint?.types?.Organization?.since;
    const source = await currentResources(a.store, 'Organization');
    if (since !== undefined) {
      const bById = new Map(held.map((r) => [r.id as string, canonical(r)]));
      const covered = [...source.values()].filter(
        (r) => Date.parse(r.meta?.lastUpdated as string) <= Date.parse(since),
      );
      for (const r of covered) {
        const id = localId('a', r.id as string);
        expect([id, bById.get(id)]).toEqual([id, canonical(r, (x) => localId('a', x))]);
      }
    }
    const { expected, actual } = await comparable(a.store, b, 'Organization', 'a');
    const holder = await b.sources.leaseHolder('a');
    return {
      converged:
        since !== undefined &&
        expected.join('\n') === actual.join('\n') &&
        versions.every(([, version, most]) => version === most),
      leaseLeft: holder !== undefined && holder.split(':')[1] === String(child?.pid),
    };
  } finally {
    await b.close();
  }
}

/** Runs the CLI, killing it at a random point, until a run ends by itself; checks after every kill. */
async function syncWithKills(kills: number, expectedVersion: (id: string) => string): Promise<number> {
  let killed = 0;
  let leftBehind = 0;
  for (let round = 0; round < 2 * kills + 10; round++) {
    const killing = killed < kills;
    requests = 0;
    killAtRequest = 0;
    let timer: NodeJS.Timeout | undefined;
    if (killing && random() < 0.5) {
      // By progress: at a random request of the pass (history pages of 20: about ORGS / 20 of them).
      killAtRequest = 2 + Math.floor(random() * (ORGS / 20));
      killAfterAnswer = random() < 0.5;
    } else if (killing) {
      // By time: a random moment after the pass's first request reached A.
      const delay = Math.floor(random() * 1500);
      const poll = setInterval(() => {
        if (requests > 0) {
          clearInterval(poll);
          timer = setTimeout(killChild, delay);
        }
      }, 10);
      timer = poll;
    }
    const run = await runOnce();
    if (timer) {
      clearInterval(timer);
      clearTimeout(timer);
    }
    if (run.signal === 'SIGKILL') {
      killed++;
      if ((await checkInvariants(expectedVersion)).leaseLeft) leftBehind++;
      continue;
    }

    expect([run.code, run.stdout]).toEqual([
      0,
      expect.stringMatching(/^a: created \d+, updated \d+, deleted \d+/),
    ]);
    if (killing) killed++; // a pass that finished before the kill came: counted, and checked below
    if ((await checkInvariants(expectedVersion)).converged && killed >= kills) {
      // Kills after the process took its lease left it behind: the restarts took them over (the
      // holder, a process of this host, is gone) instead of waiting 2 minutes for them to run out.
      expect(leftBehind).toBeGreaterThan(0);
      return killed;
    }
  }
  throw new Error('the sync did not converge');
}

/**
 * Kills per test: fewer on PGlite, where each restart of the CLI also opens the embedded database
 * (seconds each); PostgreSQL gets the full count. SYNC_KILLS overrides both.
 */
const KILLS = Number(process.env.SYNC_KILLS ?? (onPostgres() ? 5 : 3));

describe(`sync CLI killed at random points (B on ${onPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('converges on the first copy: no duplicates, one version each, checkpoint never ahead', async () => {
    expect(await syncWithKills(KILLS, () => '1')).toBeGreaterThanOrEqual(KILLS);
  }, 900_000);

  it('converges on an incremental pass after updates and deletes on A', async () => {
    await putOrganizations(0, 20, (n) => `Kill ${n} renamed`);
    for (let n = 150; n < 155; n++)
      expect((await call('DELETE', a.url(`/Organization/k-${n}`))).status).toBe(200);
    const renamed = new Set(Array.from({ length: 20 }, (_, n) => localId('a', `k-${n}`)));
    await syncWithKills(Math.max(2, KILLS - 1), (id) => (renamed.has(id) ? '2' : '1'));
    const b = await openChildStore();
    try {
      const held = await currentResources(b, 'Organization');
      expect([...held.keys()].filter((id) => id.startsWith('a.')).length).toBe(ORGS - 5);
    } finally {
      await b.close();
    }
  }, 900_000);
});
