/**
 * Every response carries an X-Request-Id (the client's when it is sane), and an unexpected error is a
 * 500 `exception` outcome that quotes it and leaks nothing else (no message, no stack).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler } from '../../src/http/error-handler';
import { requestContext } from '../../src/http/request-context';
import { createLogger } from '../../src/logger';
import { call, expectOutcome } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

describe('request ids', () => {
  it('puts an x-request-id on every response, success or failure', async () => {
    const created = await call('POST', dir.url('/Organization'), organization());
    const responses = [
      created,
      await call('GET', dir.url(`/Organization/${created.body.id}`)),
      await call('GET', dir.url('/metadata')),
      await call('GET', dir.url('/Organization/no-such-org')),
      await call('GET', `${origin()}/nope`),
      await call('DELETE', dir.url('/Organization')),
      await call('POST', dir.url('/Organization'), 'not json'),
      await call('POST', dir.url('/Organization'), 'x', { 'content-type': 'text/plain' }),
      await call('GET', dir.url('/metadata?_format=xml')),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a sane client-supplied X-Request-Id', async () => {
    const res = await call('GET', dir.url('/metadata'), undefined, { 'x-request-id': 'client-req.42:abc' });
    expect(res.headers.get('x-request-id')).toBe('client-req.42:abc');
    const failed = await call('GET', dir.url('/Organization/no-such-org'), undefined, {
      'x-request-id': 'client-req-404',
    });
    expect(failed.headers.get('x-request-id')).toBe('client-req-404');
  });

  it('replaces an X-Request-Id that is not sane', async () => {
    for (const bad of ['has spaces in it', 'x'.repeat(200), '<script>']) {
      const res = await call('GET', dir.url('/metadata'), undefined, { 'x-request-id': bad });
      const id = res.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(id).not.toBe(bad);
    }
  });
});

describe('unexpected errors (errorHandler)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const logger = createLogger('silent');
    const app = express();
    app.use(requestContext(logger));
    app.get('/sync', () => {
      throw new Error('secret detail');
    });
    app.get('/async', async () => {
      await Promise.resolve();
      throw new Error('secret detail');
    });
    app.use(errorHandler(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['/sync', '/async'])(
    'answers 500 exception with the request id and no internals (%s)',
    async (path) => {
      const res = await call('GET', `${base}${path}`);
      expectOutcome(res, 500);
      expect(res.body.issue[0].code).toBe('exception');
      const id = res.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(res.body.issue[0].diagnostics).toContain(id);
      expect(res.text).not.toContain('secret detail');
      expect(res.text).not.toMatch(/\bat \S+ \(|\bat \/|\.(ts|js):\d+/); // no stack frames
      expect(res.text).not.toContain('at ');
    },
  );

  it('quotes a client-supplied request id in the 500', async () => {
    const res = await call('GET', `${base}/sync`, undefined, { 'x-request-id': 'trace-500-abc' });
    expectOutcome(res, 500);
    expect(res.headers.get('x-request-id')).toBe('trace-500-abc');
    expect(res.body.issue[0].diagnostics).toContain('trace-500-abc');
  });
});
