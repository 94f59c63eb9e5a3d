/**
 * Callers asking the same uncached search share one computation (response-cache.ts). It runs with
 * the first caller's abort signal, so when that client hangs up its reads are cancelled: the others
 * waiting on it must still get their answer, computed for them, not the first one's cancellation.
 * Driven by hand (no database) so the order of events is exact.
 */
import { ResponseCache } from '../../src/fhir/search/response-cache';
import type { StoreHead } from '../../src/storage/resource-store';

const head = (): Promise<StoreHead> => Promise.resolve({ seq: 1, epoch: 0 });
const bundle = (n: number): string =>
  `{"resourceType":"Bundle","type":"searchset","timestamp":"2020-01-01T00:00:00.000Z","total":${n}}`;

class QueryCancelled extends Error {}

describe('A shared cached computation whose first caller leaves', () => {
  it('answers the callers still waiting on it', async () => {
    const cache = new ResponseCache({ readHead: head, maxBytes: 1 << 20 });
    let cancelFirst!: (err: Error) => void;
    const first = cache.answer('k', () => new Promise<string>((_, reject) => (cancelFirst = reject)));
    let secondComputed = 0;
    const second = cache.answer('k', () => Promise.resolve(bundle(++secondComputed)));
    // Both have read the head and the second waits on the first's computation.
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondComputed).toBe(0);
    cancelFirst(new QueryCancelled('the client went away'));
    await expect(first).rejects.toBeInstanceOf(QueryCancelled);
    const answer = await second;
    expect(JSON.parse(answer.body).total).toBe(1);
    expect(secondComputed).toBe(1);
    // And what it computed is kept for the next caller.
    expect(await cache.answer('k', () => Promise.resolve(bundle(99)))).toMatchObject({ status: 'hit' });
  });
});
