/**
 * WORKERS (README "Operate it"): on PostgreSQL the built server runs that many processes on one
 * port (node:cluster), migrating and seeding once, never stale from one worker to another (each has
 * its own response cache and hit lane over the shared store head), replacing a worker that dies and
 * stopping them all on SIGTERM; on the embedded PGlite store it serves with one process and says so.
 * Real spawned processes, as a user runs them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { openStore } from '../../src/directory';
import { planWorkers } from '../../src/workers/worker-plan';
import { getToken, registerClient } from '../helpers/auth';
import { organization } from '../helpers/resources';
import { childDatabaseEnv, startBuiltServer, type SpawnedServer } from '../helpers/spawn-directory';
import { onPostgres } from '../helpers/test-directory';

describe('WORKERS, the setting', () => {
  it('takes a number of processes or auto, and names WORKERS in a problem', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe('auto');
    for (const bad of ['0', 'many', '1.5', '-2'])
      expect(() => loadConfig({ WORKERS: bad })).toThrow(
        expect.objectContaining({ message: expect.stringContaining('WORKERS') as unknown }) as ConfigError,
      );
  });

  it('is one process per core for auto on PostgreSQL, and always one process on PGlite, said so', () => {
    expect(planWorkers(4, true, 2)).toEqual({ count: 4 });
    expect(planWorkers('auto', true, 6)).toEqual({ count: 6 });
    expect(planWorkers(1, false, 6)).toEqual({ count: 1 });
    expect(planWorkers(2, false, 6)).toEqual({
      count: 1,
      note: {
        level: 'warn',
        msg: expect.stringMatching(/^WORKERS=2 needs PostgreSQL \(DATABASE_URL\)/) as unknown,
      },
    });
    expect(planWorkers('auto', false, 6)).toMatchObject({ count: 1, note: { level: 'info' } });
  });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One request on a connection of its own (the primary hands connections to the workers in turn). */
function fresh(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent: false,
        headers: {
          connection: 'close',
          accept: 'application/fhir+json',
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const linesSaying = (server: SpawnedServer, msg: string): Record<string, unknown>[] =>
  server.logLines().filter((l) => l.msg === msg);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(`WORKERS=2 on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fhir-directory-workers-'));
    ({ env, cleanup } = await childDatabaseEnv(join(work, 'db')));
  });
  afterAll(async () => {
    await cleanup();
    await rm(work, { recursive: true, force: true });
  });

  if (!onPostgres()) {
    it('serves with one process and logs why', async () => {
      const server = await startBuiltServer({ ...env, WORKERS: '2', SEED: 'false' });
      try {
        const note = server.logLines().find((l) => String(l.msg).startsWith('WORKERS=2 needs PostgreSQL'));
        expect(note).toMatchObject({ level: 40, pid: server.child.pid });
        const metadata = await fresh(`${server.baseUrl}/metadata`, 'GET', {});
        expect(metadata.status).toBe(200);
        expect(linesSaying(server, 'fhir-directory listening').map((l) => l.pid)).toEqual([server.child.pid]);
      } finally {
        expect(await server.stop('SIGTERM')).toBe(0);
      }
    }, 200_000);
    return;
  }

  it('migrates and seeds once, is never stale across workers, replaces a dead worker, and stops on SIGTERM', async () => {
    const server = await startBuiltServer({ ...env, WORKERS: '2' });
    try {
      await waitFor('all workers listening', () => linesSaying(server, 'all workers listening')[0]);
      const workers = linesSaying(server, 'fhir-directory listening').map((l) => l.pid as number);
      expect(new Set(workers).size).toBe(2);
      expect(workers).not.toContain(server.child.pid);
      expect(linesSaying(server, 'applied schema migrations')).toHaveLength(1);
      expect(linesSaying(server, 'loaded seed data into the empty store')).toHaveLength(1);

      // An admin client, registered in the database as `fhir-directory clients add` would: each
      // worker sees it at its next poll of the clients' revision.
      const store = await openStore(loadConfig(env));
      const admin = await registerClient({ store, ctx: {} }, { admin: true, scopes: ['system/*.cruds'] });
      await store.close();
      const token = await waitFor('a token', () => getToken(server, admin).catch(() => undefined));
      const auth = { authorization: `Bearer ${token}` };
      // The worker that minted it knows the client; the other within its next poll (2 s).
      await waitFor('every worker to know the client', async () => {
        for (let i = 0; i < 4; i++)
          if ((await fresh(`${server.baseUrl}/Organization?_count=1`, 'GET', auth)).status !== 200)
            return undefined;
        return true;
      });

      let n = 0;
      /** GETs `path` four times, each on its own connection; the pids that answered, from the log. */
      const readAround = async (path: string, check: (a: Answer) => void): Promise<Set<number>> => {
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          const id = `workers-${++n}`;
          ids.push(id);
          const answer = await fresh(`${server.baseUrl}${path}`, 'GET', { ...auth, 'x-request-id': id });
          expect(answer.status).toBe(200);
          check(answer);
        }
        const pids = await waitFor('the request log lines', () => {
          const lines = server.logLines().filter((l) => ids.includes(l.reqId as string));
          return lines.length === ids.length ? lines.map((l) => l.pid as number) : undefined;
        });
        return new Set(pids);
      };

      const names: string[] = [];
      const search = '/Organization?name=Clusterwell&_count=50';
      const seesAll = (a: Answer): void => {
        const found = ((a.body.entry ?? []) as { resource: { name: string } }[]).map((e) => e.resource.name);
        expect(found.sort()).toEqual([...names].sort());
      };
      const served = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const name = `Clusterwell ${round}`;
        const created = await fresh(`${server.baseUrl}/Organization`, 'POST', auth, organization({ name }));
        expect(created.status).toBe(201);
        names.push(name);
        for (const pid of await readAround(search, seesAll)) served.add(pid);
        // A burst at once, each on a connection of its own (so on both workers, whose requests
        // share head reads): every answer, cached or not, sees every write made before it was sent.
        const burst = await Promise.all(
          Array.from({ length: 12 }, () => fresh(`${server.baseUrl}${search}`, 'GET', auth)),
        );
        for (const answer of burst) {
          expect(answer.status).toBe(200);
          seesAll(answer);
        }
      }
      expect(served).toEqual(new Set(workers));

      const id = 'cluster-read';
      const put = (name: string): Promise<Answer> =>
        fresh(`${server.baseUrl}/Organization/${id}`, 'PUT', auth, organization({ id, name }));
      expect((await put('Readback Clinic')).status).toBe(201);
      await readAround(`/Organization/${id}`, (a) => expect(a.body.meta.versionId).toBe('1'));
      expect((await put('Readback Clinic (renamed)')).status).toBe(200);
      const readers = await readAround(`/Organization/${id}`, (a) => {
        expect(a.body.meta.versionId).toBe('2');
        expect(a.headers.etag).toBe('W/"2"');
      });
      expect(readers).toEqual(new Set(workers));

      // A worker killed is replaced; the directory goes on answering.
      const [victim] = workers as [number];
      process.kill(victim, 'SIGKILL');
      await waitFor('a replacement', () =>
        linesSaying(server, 'fhir-directory listening').length === 3 ? true : undefined,
      );
      expect(linesSaying(server, 'a worker died; starting another')[0]).toMatchObject({
        worker: victim,
        signal: 'SIGKILL',
      });
      const now = linesSaying(server, 'fhir-directory listening').map((l) => l.pid as number);
      expect(await readAround(search, seesAll)).toEqual(new Set(now.filter((pid) => pid !== victim)));
      expect(linesSaying(server, 'loaded seed data into the empty store')).toHaveLength(1);

      expect(await server.stop('SIGTERM')).toBe(0);
      for (const pid of now) expect(alive(pid)).toBe(false);
    } finally {
      if (server.child.exitCode === null) await server.stop('SIGKILL');
    }
  }, 400_000);
});
