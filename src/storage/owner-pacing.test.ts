/**
 * The pacing rule on its own (the HTTP journey is test/http/client-pacing.test.ts): what a request is
 * charged, when a client waits, and that a client alone or the directory's own work never does.
 */
import { ConfigError, loadConfig } from '../config';
import { OwnerPacing } from './owner-pacing';
import { requestArrived, runAsOwner } from './statement-owner';

/** Runs `work` as one request of `who`, counted as under way like the HTTP server counts requests. */
async function asRequest<T>(who: string, work: () => Promise<T>): Promise<T> {
  const done = requestArrived(who);
  try {
    return await runAsOwner(who, work);
  } finally {
    done();
  }
}

/** Another client's request under way until the returned function ends it. */
function otherClientBusy(): () => void {
  return requestArrived('another client');
}

describe('OwnerPacing', () => {
  it('charges nothing for a request under the costly threshold', async () => {
    const pacing = new OwnerPacing({ share: 0.5, costlyMs: 100 });
    const end = otherClientBusy();
    try {
      await asRequest('a', () => {
        pacing.after('a', 60);
        pacing.after('a', 30); // 90 ms in all: not costly
        return Promise.resolve();
      });
      await asRequest('a', async () => {
        await pacing.before('a');
      });
      expect(pacing.stats().waits).toBe(0);
    } finally {
      end();
    }
  });

  it('charges a costly request all its time, and the client then waits while others are served', async () => {
    const pacing = new OwnerPacing({ share: 0.5, costlyMs: 100 });
    const end = otherClientBusy();
    try {
      await asRequest('a', () => {
        pacing.after('a', 60);
        pacing.after('a', 50); // 110 ms: costly, all 110 charged: the next statement waits ~110 ms
        return Promise.resolve();
      });
      const began = performance.now();
      await asRequest('a', async () => {
        await pacing.before('a');
      });
      expect(pacing.stats().waits).toBe(1);
      // share 0.5: the wait equals the time charged (timers may fire a little early or late).
      expect(performance.now() - began).toBeGreaterThanOrEqual(90);
    } finally {
      end();
    }
  });

  it('never holds back a client alone, nor the directory’s own work', async () => {
    const pacing = new OwnerPacing({ share: 0.1, costlyMs: 0 });
    await asRequest('a', () => Promise.resolve(pacing.after('a', 500)));
    await asRequest('a', async () => {
      await pacing.before('a');
    });
    const end = otherClientBusy();
    try {
      pacing.after('', 500);
      await pacing.before('');
    } finally {
      end();
    }
    expect(pacing.stats().waits).toBe(0);
  });

  it('never holds back a client against its own parallel requests', async () => {
    const pacing = new OwnerPacing({ share: 0.1, costlyMs: 0 });
    await asRequest('a', () => Promise.resolve(pacing.after('a', 500)));
    // Three of a's requests under way at once (one arrival key), none of another client's.
    const ends = [requestArrived('a'), requestArrived('a'), requestArrived('a')];
    try {
      await asRequest('a', async () => {
        await pacing.before('a');
      });
      expect(pacing.stats().waits).toBe(0);
      // Another client's arrival while a's request is under way: now a waits.
      await asRequest('a', async () => {
        const other = requestArrived('b');
        other();
        await pacing.before('a');
      });
      expect(pacing.stats().waits).toBe(1);
    } finally {
      for (const end of ends) end();
    }
  });

  it('stops waiting when the request is abandoned', async () => {
    const pacing = new OwnerPacing({ share: 0.01, costlyMs: 0 });
    const end = otherClientBusy();
    try {
      await asRequest('a', () => Promise.resolve(pacing.after('a', 1000))); // ~99 s of debt, capped at 60 s
      const abandoned = new AbortController();
      const waiting = asRequest('a', async () => {
        await pacing.before('a', abandoned.signal);
      });
      abandoned.abort();
      await expect(waiting).rejects.toThrow('cancelled');
    } finally {
      end();
    }
  });
});

describe('CLIENT_DB_SHARE and COSTLY_REQUEST_MS', () => {
  it('default to 0.1 and 100 ms, and take a number in range', () => {
    expect(loadConfig({}).pacing).toEqual({ share: 0.1, costlyMs: 100 });
    expect(loadConfig({ CLIENT_DB_SHARE: '1', COSTLY_REQUEST_MS: '0' }).pacing).toEqual({
      share: 1,
      costlyMs: 0,
    });
  });

  it.each([
    ['CLIENT_DB_SHARE', '0'],
    ['CLIENT_DB_SHARE', '1.5'],
    ['CLIENT_DB_SHARE', 'half'],
    ['COSTLY_REQUEST_MS', '-1'],
    ['COSTLY_REQUEST_MS', '2.5'],
  ])('%s=%s is a configuration error naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
