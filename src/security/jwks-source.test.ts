/** How long a fetched JWKS may be kept: SMART forbids keeping it longer than its Cache-Control allows. */
import { cacheSeconds } from './jwks-source';

describe('cacheSeconds', () => {
  it('keeps a set for max-age seconds, up to the ceiling', () => {
    expect(cacheSeconds('max-age=600', 3600)).toBe(600);
    expect(cacheSeconds('public, Max-Age=86400', 3600)).toBe(3600);
    expect(cacheSeconds('max-age="120"', 3600)).toBe(120);
  });

  it('keeps nothing without a header, with no-store or no-cache, or with a max-age that is not a positive integer', () => {
    for (const header of [
      null,
      '',
      'no-store',
      'max-age=600, no-store',
      'no-cache',
      'no-cache="set-cookie", max-age=60',
      'max-age=0',
      'max-age=-5',
      'max-age=abc',
      'public',
    ])
      expect(`${String(header)}: ${cacheSeconds(header, 3600)}`).toBe(`${String(header)}: 0`);
  });
});
