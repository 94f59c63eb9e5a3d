import { ConfigError, loadConfig } from '../config';
import { retryAfterMs } from './source-client';
import { parseAuth, parseInterval, parseSource } from './source-settings';

describe('source settings', () => {
  it('reads each auth form, and names what is wrong with a bad one', () => {
    expect(parseAuth('none')).toEqual({ kind: 'none' });
    expect(parseAuth('header:Authorization=api-key a=b')).toEqual({
      kind: 'header',
      name: 'Authorization',
      value: 'api-key a=b',
    });
    expect(parseAuth('query:_apiKey=k')).toEqual({ kind: 'query', name: '_apiKey', value: 'k' });
    expect(parseAuth('smart:cid:/keys/k.json:https://as.example/token')).toEqual({
      kind: 'smart',
      clientId: 'cid',
      keyFile: '/keys/k.json',
      tokenUrl: 'https://as.example/token',
    });
    expect(parseAuth('smart:cid:/keys/k.json')).toEqual({
      kind: 'smart',
      clientId: 'cid',
      keyFile: '/keys/k.json',
    });
    expect(parseAuth('header:Authorization')).toBe('header: needs NAME=VALUE');
    expect(parseAuth('header:Bad Name=x')).toBe("'Bad Name' is not a header name");
    expect(parseAuth('basic:x')).toMatch(/^'basic' is not one of/);
  });

  it('reads intervals as s, m or h, at least a second', () => {
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('1h')).toBe(3_600_000);
    expect(parseInterval('0s')).toBeUndefined();
    expect(parseInterval('five')).toBeUndefined();
  });

  it('reports every problem of a source together, each with its field', () => {
    const parsed = parseSource(
      { from: 'ftp://x', name: 'Bad.Name', cert: 'c.pem', types: 'Patient', interval: 'soon' },
      '--',
    );
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.map((p) => p.field)).toEqual([
      '--from',
      '--name',
      '--key',
      '--types',
      '--interval',
    ]);
  });

  it('names a source after its host when no name is given, and keeps the types in a fixed order', () => {
    const parsed = parseSource({
      from: 'https://Directory.Example.org/fhir/',
      types: 'Endpoint,Organization',
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        name: 'directory-example-org',
        from: 'https://Directory.Example.org/fhir',
        auth: { kind: 'none' },
        tls: {},
        types: ['Organization', 'Endpoint'],
      },
    });
  });
});

describe('SYNC_SOURCES', () => {
  it('is a JSON list checked with the rest of the configuration, every problem together, its value never shown', () => {
    expect(
      loadConfig({
        SYNC_SOURCES:
          '[{"name":"cq","from":"https://cq.example/fhir","auth":"header:Authorization=api-key s3cret","interval":"10m"}]',
      }).syncSources,
    ).toEqual([
      {
        name: 'cq',
        from: 'https://cq.example/fhir',
        auth: { kind: 'header', name: 'Authorization', value: 'api-key s3cret' },
        tls: {},
        types: ['Organization', 'Endpoint'],
        intervalMs: 600_000,
      },
    ]);
    expect(loadConfig({}).syncSources).toEqual([]);
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'x',
        SYNC_SOURCES:
          '[{"from":"https://a.example/fhir","auth":"header:X=s3cret","colour":1},{"from":"https://a.example/fhir"}]',
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems).toEqual([
      'PORT must be integer (got "x")',
      'SYNC_SOURCES[0].colour is not a source setting',
      "SYNC_SOURCES[1].name 'a-example' names two sources",
    ]);
    expect(error?.message).not.toContain('s3cret');
    expect(() => loadConfig({ SYNC_SOURCES: '{' })).toThrow(/SYNC_SOURCES is not JSON/);
  });
});

describe('Retry-After', () => {
  it('is seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
