/** VALIDATION_THREADS: `auto` by cores (at least one, one for each core beyond two, at most 4), or a number. */
import { loadConfig, validationThreadsFor } from './config';

it.each([
  [1, 1],
  [2, 1],
  [3, 1],
  [4, 2],
  [6, 4],
  [32, 4],
])('auto on %i cores is %i thread(s)', (cores, threads) => {
  expect(validationThreadsFor('auto', cores)).toBe(threads);
});

it('takes a number as it is, 0 meaning the main thread', () => {
  expect(validationThreadsFor(0, 2)).toBe(0);
  expect(loadConfig({ VALIDATION_THREADS: '3' }).validationThreads).toBe(3);
  expect(loadConfig({ VALIDATION_THREADS: '0' }).validationThreads).toBe(0);
});
