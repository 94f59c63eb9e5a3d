/**
 * The followers a server runs in the background (SYNC_SOURCES): per source, a pass, then a wait of
 * its interval (5 minutes when it names none), and again; one pass at a time per source (the lease
 * in run-source.ts holds it across processes too, so two servers on one database take turns).
 * A failed pass is logged and recorded in the source's status; the next one comes at its time.
 */
import type { FhirContext } from '../fhir/context';
import type { Logger } from '../logger';
import { runSourcePass } from './run-source';
import type { SyncSourceSettings } from './source-settings';

export const DEFAULT_INTERVAL_MS = 5 * 60_000;

export interface Followers {
  /** Stops waiting, asks running passes to stop between two pages, and waits for them. */
  close(): Promise<void>;
}

export function startFollowers(
  ctx: FhirContext,
  sources: readonly SyncSourceSettings[],
  log: Logger,
): Followers {
  const stop = new AbortController();
  const loops = sources.map(async (settings) => {
    while (!stop.signal.aborted) {
      try {
        const result = await runSourcePass({ ctx, settings, log, signal: stop.signal });
        if (result.state === 'busy')
          log.info(
            { source: settings.name, holder: result.holder },
            'sync: another process holds the source',
          );
        else {
          const { problems: _p, types, source: _s, ...counts } = result.summary;
          log.info(
            {
              source: settings.name,
              ...counts,
              types: types.map((t) => `${t.type}:${t.mode}${t.error ? `:${t.error}` : ''}`),
            },
            'sync: pass done',
          );
        }
      } catch (err) {
        log.error({ source: settings.name, err }, 'sync: pass failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.intervalMs ?? DEFAULT_INTERVAL_MS);
        timer.unref();
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  });
  return {
    async close() {
      stop.abort();
      await Promise.all(loops);
    },
  };
}
