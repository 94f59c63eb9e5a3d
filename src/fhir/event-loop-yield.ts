/**
 * Long CPU work done in steps (validating a Bundle's entries one by one) gives the event loop back
 * every few milliseconds, so other requests are answered meanwhile instead of waiting for the whole
 * Bundle. One step (one resource) is bounded by MAX_RESOURCE_BYTES.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/** How long one stretch of work may keep the event loop before it lets others run. */
const SLICE_MS = 10;

/** Returns a function to await between steps: it yields when the current slice is used up. */
export function eventLoopYielder(sliceMs = SLICE_MS): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await nextTurn();
    sliceStart = performance.now();
  };
}
