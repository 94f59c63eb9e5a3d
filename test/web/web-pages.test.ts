/**
 * The web directory's pages over HTTP (src/web, src/http/web-routes.ts), on the seed directory:
 * what each page shows, that every stored value is escaped, the headers every page carries, and
 * what each bad input gets (a 4xx page naming the problem, never a 500).
 */
import { call } from '../helpers/fhir-client';
import { organization, endpoint } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { WEB_CSP } from '../../src/web/layout';
import { loadSeedSlice, SALISH_RIDGE as HCID_ORG, WRENBURY as MEMBER } from './seed-slice';

let dir: TestDirectory;
let origin: string;
beforeAll(async () => {
  dir = await startTestDirectory();
  await loadSeedSlice(dir);
  origin = new URL(dir.baseUrl).origin;
}, 120_000);
afterAll(() => dir.close());

interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
}

async function page(path: string, headers: Record<string, string> = {}): Promise<PageAnswer> {
  const res = await fetch(origin + path, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The text of the page without its markup (entities left as they are). */
const textOf = (html: string): string => html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');

/** The markup with the white space between tags taken out. */
const squash = (html: string): string => html.replace(/\s+/g, ' ').replace(/> </g, '><');

describe('the search page /', () => {
  it('is an HTML page with lang, a viewport, a skip link, the form with a label for every field, and no script', async () => {
    const res = await page('/');
    res.text = squash(res.text);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(WEB_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.text).toMatch(/^<!doctype html><html lang="en">/);
    expect(res.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1" />');
    expect(res.text).toContain('<a class="skip" href="#main">');
    expect(res.text).not.toMatch(/<script|style=|<style/i);
    for (const field of ['name', 'city', 'state', 'npi', 'hcid', 'connection', 'status'])
      expect(res.text).toContain(`<label for="f-${field}">`);
    const all = await call('GET', dir.url('/Organization?_summary=count'));
    expect(all.body.total).toBeGreaterThan(40);
    expect(textOf(res.text)).toContain(`${all.body.total} organizations match; showing 1–20.`);
  });

  it('finds by name, city/state, NPI, HCID, connection type and status, counting the matches', async () => {
    const byName = textOf((await page('/?name=Salish+Ridge')).text);
    expect(byName).toContain('Salish Ridge Health Information Exchange');
    expect(byName).toMatch(/organizations? match/);

    const byNpi = textOf((await page('/?npi=1204796480')).text);
    expect(byNpi).toContain('1 organization matches; showing 1–1.');
    expect(byNpi).toContain('Salish Ridge Health Information Exchange');

    const byHcid = (await page(`/?hcid=${HCID_ORG}`)).text;
    expect(textOf(byHcid)).toContain('1 organization matches');
    expect(byHcid).toContain(`href="/organizations/${HCID_ORG}"`);

    const byPlace = textOf((await page('/?city=Elkhorn+Springs&state=wa')).text);
    expect(byPlace).toContain('Elkhorn Springs, WA');
    expect(byPlace).not.toContain('No organization matches');

    // Every organization listed for a connection type has an endpoint of that type, named in words.
    const fhir = await call(
      'GET',
      dir.url('/Organization?endpoint.connection-type=hl7-fhir-rest&_summary=count'),
    );
    const byType = textOf((await page('/?connection=hl7-fhir-rest')).text);
    expect(byType).toContain(`${(fhir.body.total as number).toLocaleString('en-US')} organization`);
    expect(byType).toContain('HL7 FHIR');

    const inactive = await call('GET', dir.url('/Organization?active=false&_summary=count'));
    expect(textOf((await page('/?status=inactive')).text)).toContain(
      `${inactive.body.total} organizations match`,
    );
  });

  it('pages through the results with next, previous and first links that are plain shareable URLs', async () => {
    const first = await page('/?status=active');
    first.text = squash(first.text);
    const next = /<a rel="next" href="([^"]+)">/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toMatch(/^\/\?status=active&page=[A-Za-z0-9_-]+$/);
    const second = await page(next as string);
    second.text = squash(second.text);
    expect(textOf(second.text)).toMatch(/showing 21–40\./);
    const third = await page(
      (/<a rel="next" href="([^"]+)">/.exec(second.text)?.[1] ?? '').replace(/&amp;/g, '&'),
    );
    third.text = squash(third.text);
    expect(textOf(third.text)).toMatch(/showing 41–60\./);
    const back = (/<a rel="prev" href="([^"]+)">/.exec(third.text)?.[1] ?? '').replace(/&amp;/g, '&');
    expect(back).toBe(next);
    expect(textOf((await page(back)).text)).toMatch(/showing 21–40\./);
    expect(second.text).toContain('<a rel="prev" href="/?status=active">');
    expect(second.text).toContain('<a href="/?status=active">First page</a>');
  });

  it('lists in the directory’s order when asked, and keeps that order in its paging links', async () => {
    const first = squash((await page('/?status=active&order=directory')).text);
    expect(first).toContain('Organizations, in the directory’s order');
    const next = /<a rel="next" href="([^"]+)">/.exec(first)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toMatch(/^\/\?status=active&order=directory&page=[A-Za-z0-9_-]+$/);
    const second = await page(next as string);
    expect(second.status).toBe(200);
    expect(textOf(second.text)).toMatch(/showing 21–40\./);
    expect(squash(second.text)).toContain('<a href="/?status=active&amp;order=directory">First page</a>');
  });

  it('sends a form with empty fields on to the same search without them (303), a URL worth sharing', async () => {
    const res = await fetch(`${origin}/?name=Salish&city=&state=&npi=&hcid=&connection=&status=active`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?name=Salish&status=active');
    const empty = await fetch(`${origin}/?name=&city=`, { redirect: 'manual' });
    expect(empty.headers.get('location')).toBe('/');
  });

  it.each([
    ['/?status=retired', 'status must be active, inactive or empty'],
    ['/?connection=smoke-signal', 'connection must be one of'],
    ['/?npi=12345', 'An NPI is 10 digits'],
    ['/?hcid=not-an-oid', 'An HCID is an OID'],
    ['/?state=Washington', 'state is a two-letter USPS code'],
    ['/?order=sideways', 'order must be name, directory or empty'],
    ['/?page=%2F%2F', 'page is not a page of this search'],
    ['/?page=abc', '_page'],
    ['/?trail=abc', 'trail without page'],
  ])('answers %s with a 400 page naming the problem', async (path, problem) => {
    const res = await page(path);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<p class="problem">');
    expect(textOf(res.text)).toContain(problem);
  });
});

describe('an Organization page', () => {
  it('shows details, NPI and HCID by name, the hierarchy up and down, endpoints grouped by connection type, and versions', async () => {
    const res = await page(`/organizations/${MEMBER}`);
    res.text = squash(res.text);
    expect(res.status).toBe(200);
    const text = textOf(res.text);
    expect(text).toContain('Wrenbury Diagnostic Imaging');
    expect(res.text).toMatch(/<th scope="row">NPI<\/th><td class="mono">\d{10}<\/td>/);
    // Up: its implementer, linked; down: the implementer's page lists it among its children.
    expect(res.text).toContain(
      `<li><a href="/organizations/${HCID_ORG}">Salish Ridge Health Information Exchange</a></li>`,
    );
    const top = await page(`/organizations/${HCID_ORG}`);
    top.text = squash(top.text);
    expect(top.text).toMatch(
      /<th scope="row">HCID<\/th><td class="mono">urn:oid:2\.16\.840\.1\.113883\.3\.99901<\/td>/,
    );
    expect(textOf(top.text)).toContain('Top level: part of no other organization.');
    expect(textOf(top.text)).toMatch(/Organizations under it \(24\)/);
    expect(top.text).toContain(`href="/organizations/${MEMBER}"`);
    // Endpoints under headings in words, each linked.
    expect(res.text).toMatch(/<h3>IHE XCA \(2\)<\/h3>/);
    expect(res.text).toMatch(/<h3>IHE XCPD \(1\)<\/h3>/);
    expect(res.text).toContain(`href="/endpoints/${MEMBER}-xcpd"`);
    expect(text).toMatch(/Versions, newest first Version When Change Source 1 \S+ Created/);
  });

  it('lists every version after an update, newest first', async () => {
    const created = await call(
      'PUT',
      dir.url('/Organization/web-versions'),
      organization({ id: 'web-versions', name: 'Versioned Clinic' }),
    );
    expect(created.status).toBe(201);
    const updated = await call(
      'PUT',
      dir.url('/Organization/web-versions'),
      organization({ id: 'web-versions', name: 'Versioned Clinic Two' }),
    );
    expect(updated.status).toBe(200);
    const text = textOf((await page('/organizations/web-versions')).text);
    expect(text).toMatch(/2 \S+ Updated .*1 \S+ Created/);
  });

  it('answers an unknown id 404, a deleted one 410 and a malformed one 400, as pages', async () => {
    expect((await page('/organizations/no-such-org')).status).toBe(404);
    await call('PUT', dir.url('/Organization/web-deleted'), organization({ id: 'web-deleted' }));
    expect((await call('DELETE', dir.url('/Organization/web-deleted'))).status).toBeLessThan(300);
    const deleted = await page('/organizations/web-deleted');
    expect(deleted.status).toBe(410);
    expect(deleted.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const malformed = await page('/organizations/bad%20id!');
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('<p class="problem">');
    expect((await page('/endpoints/no-such-endpoint')).status).toBe(404);
  });
});

describe('an Endpoint page', () => {
  it('says its connection type in words, payloads, trust framework and IHE transaction, and that discovery has not run', async () => {
    const res = await page(`/endpoints/${HCID_ORG}-xcpd`);
    res.text = squash(res.text);
    expect(res.status).toBe(200);
    const text = textOf(res.text);
    expect(text).toContain('Connection type IHE XCPD (ihe-xcpd)');
    expect(res.text).toContain(
      `<a href="/organizations/${HCID_ORG}">Salish Ridge Health Information Exchange</a>`,
    );
    expect(text).toContain('Payload types');
    expect(text).toMatch(/Trust framework trustFrameworkType: Carequality/);
    expect(text).toContain('IHE transaction Cross Gateway Patient Discovery');
    expect(text).toContain('IHE endpoint type XCPD Responding Gateway Patient Discovery (ITI-55)');
    expect(text).toContain('Environment Production');
    expect(text).toContain('has not recorded a capability discovery result');
  });

  it('shows a capability discovery extension when there is one', async () => {
    await call('PUT', dir.url('/Organization/valley-clinic'), organization({ id: 'valley-clinic' }));
    const written = await call(
      'PUT',
      dir.url('/Endpoint/web-discovered'),
      endpoint({
        id: 'web-discovered',
        extension: [
          {
            url: 'https://fhir-directory.example.org/StructureDefinition/capability-discovery',
            extension: [
              { url: 'fhirVersion', valueString: '4.0.1' },
              { url: 'checked', valueDateTime: '2026-12-01T10:00:00Z' },
            ],
          },
        ],
      }),
      // A directory-specific extension the profile does not know is not refused.
    );
    expect(written.status).toBe(201);
    const text = textOf((await page('/endpoints/web-discovered')).text);
    expect(text).toMatch(/Capability discovery fhirVersion 4\.0\.1 checked 2026-12-01T10:00:00Z/);
    expect(text).not.toContain('has not recorded');
  });
});

describe('escaping', () => {
  it('shows a stored <script> as text on every page that names it', async () => {
    const evil = '<script>alert("x")</script> & "Co"';
    await call(
      'PUT',
      dir.url('/Organization/web-evil'),
      organization({ id: 'web-evil', name: evil, partOf: { reference: `Organization/${HCID_ORG}` } }),
    );
    await call(
      'PUT',
      dir.url('/Endpoint/web-evil-ep'),
      endpoint({
        id: 'web-evil-ep',
        name: evil,
        address: 'https://x.example.org/"><script>',
        managingOrganization: { reference: 'Organization/web-evil' },
      }),
    );
    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot;';
    for (const path of [
      '/?name=%3Cscript',
      '/organizations/web-evil',
      '/endpoints/web-evil-ep',
      `/organizations/${HCID_ORG}`,
    ]) {
      const res = await page(path);
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
      expect(res.text).not.toMatch(/<script/i);
      expect(res.text).toContain(escaped);
    }
    // The form echoes what was typed, escaped too.
    expect((await page('/?name=%22%3E%3Cscript%3E')).text).toContain('value="&quot;&gt;&lt;script&gt;"');
  });
});

describe('/about and the stylesheet', () => {
  it('says what the directory holds, with example FHIR queries and links to /docs and /openapi.json', async () => {
    const res = await page('/about');
    expect(res.status).toBe(200);
    expect(textOf(res.text)).toMatch(/\d+ organizations .* \d+ endpoints/);
    expect(res.text).toContain('href="/docs"');
    expect(res.text).toContain('href="/openapi.json"');
    expect(res.text).toContain('href="/fhir/metadata"');
  });

  it('serves the stylesheet as text/css with a visible focus style and a phone layout', async () => {
    const res = await page('/assets/web.css');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(res.text).toContain(':focus-visible');
    expect(res.text).toContain('@media (max-width: 40em)');
  });
});

describe('a search over SEARCH_MAX_COST', () => {
  // At a cost limit of 1 every chained search is refused by the API; the pages the form leads to are
  // not: a connection type the form offers never answers 400 (on the 70,000-resource bench directory,
  // `connection=ihe-xcpd` sorted by name is over the default limit, in the directory's order under it).
  let tight: TestDirectory;
  let tightOrigin: string;
  beforeAll(async () => {
    tight = await startTestDirectory({ limits: { searchCost: 1 } });
    await loadSeedSlice(tight);
    tightOrigin = new URL(tight.baseUrl).origin;
  }, 120_000);
  afterAll(() => tight.close());

  it('the API refuses the chained search, the page answers 200 with the form and what to narrow', async () => {
    const fhir = await call(
      'GET',
      tight.url('/Organization?endpoint.connection-type=hl7-fhir-rest&_sort=name&_count=20'),
    );
    expect(fhir.status).toBe(400);
    for (const path of ['/?connection=hl7-fhir-rest', '/?connection=ihe-xcpd&order=directory']) {
      const res = await fetch(tightOrigin + path);
      const text = textOf(await res.text());
      expect(res.status).toBe(200);
      expect(text).toContain('matches too many organizations to list them here');
      expect(text).toContain('Connection type');
    }
  });

  it('every search or paging link a search page shows answers 200', async () => {
    const first = await fetch(tightOrigin + '/?status=active');
    expect(first.status).toBe(200);
    const links = [...squash(await first.text()).matchAll(/href="(\/(?:\?[^"]*)?)"/g)].map((m) =>
      (m[1] as string).replace(/&amp;/g, '&'),
    );
    expect(links).toContain('/');
    expect(links.some((l) => l.includes('page='))).toBe(true);
    for (const link of links) expect([link, (await fetch(tightOrigin + link)).status]).toEqual([link, 200]);
  });
});

describe('access', () => {
  it('under READ_ACCESS=authenticated, a visitor without a token gets the 401 as a page', async () => {
    const closed = await startTestDirectory({ readAccess: 'authenticated' });
    try {
      const res = await fetch(new URL(closed.baseUrl).origin + '/');
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).toContain('needs an access token');
    } finally {
      await closed.close();
    }
  });
});
