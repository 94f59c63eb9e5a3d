/**
 * A write whose client goes away while it waits for the write lock is abandoned before it takes the
 * lock: nothing of it is stored (issue 9). Through real HTTP: a long write holds the lock, a PUT
 * queues behind it, its client destroys the socket; a second PUT, whose client stays, is stored.
 */
import { request as httpRequest } from 'node:http';
import { call } from '../helpers/fhir-client';
import { withDefaultAuth } from '../helpers/raw-http';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never happened: ${what}`);
}

/** Sends a PUT of `id`; resolves with the status, or with 'gone' once `hangUp` is called. */
async function put(id: string): Promise<{ answer: Promise<number | 'gone'>; hangUp: () => void }> {
  const url = dir.url(`/Organization/${id}`);
  const body = JSON.stringify(organization({ id, name: `Abandoned ${id}` }));
  const headers = await withDefaultAuth(url, { 'content-type': 'application/fhir+json' });
  const req = httpRequest(url, { method: 'PUT', headers });
  const answer = new Promise<number | 'gone'>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('gone'));
  });
  req.end(body);
  return { answer, hangUp: () => req.destroy() };
}

it('abandons a write whose client left while it waited for the lock, and stores the one whose client stayed', async () => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  const holder = dir.store.write(async () => {
    holding = true;
    await released; // holds the write lock until released
  });
  await until('the holder has the lock', () => holding);

  const leaving = await put('left-before-the-lock');
  await until('the first PUT waits for the lock', () => dir.store.stats().writersWaiting === 1);
  const staying = await put('stayed-for-the-lock');
  await until('the second PUT waits too', () => dir.store.stats().writersWaiting === 2);
  leaving.hangUp();
  await expect(leaving.answer).resolves.toBe('gone');
  // The server sees the socket close at once on the loopback; a moment for its close event to run.
  await new Promise((resolve) => setTimeout(resolve, 200));
  release();
  await holder;

  await expect(staying.answer).resolves.toBe(201);
  expect((await call('GET', dir.url('/Organization/stayed-for-the-lock'))).status).toBe(200);
  expect((await call('GET', dir.url('/Organization/left-before-the-lock'))).status).toBe(404);
  // No version of it at all, not even in history.
  expect((await call('GET', dir.url('/Organization/left-before-the-lock/_history'))).status).toBe(404);
});
