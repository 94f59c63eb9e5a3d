/**
 * The web directory in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
 * installs when missing) driven by playwright-core, one browser for the file. A visitor searches,
 * opens an Organization, follows it to an Endpoint, pages through results and reads /about, with
 * JavaScript on and off; axe-core checks every page (no serious or critical violation); the CSP
 * reports no violation; a screenshot of each page goes to test-artifacts/web/ (not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { source as axeSource, type AxeResults } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';
import { loadSeedSlice } from './seed-slice';

/** What the callbacks run inside the page use of it (this file is compiled without the DOM types). */
interface InPage {
  axe: { run: () => Promise<AxeResults> };
  document: { activeElement: { id: string } | null; documentElement: { scrollWidth: number } };
  innerWidth: number;
  getComputedStyle: (e: unknown) => { outlineStyle: string };
}

// A browser and axe-core on every page take a while on a busy 2-core machine: a ceiling, not a measure.
jest.setTimeout(240_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'web');

let dir: TestDirectory;
let origin: string;
let browser: Browser;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [dir, browser] = await Promise.all([
    startTestDirectory().then(async (started) => {
      await loadSeedSlice(started);
      return started;
    }),
    // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
  ]);
  origin = new URL(dir.baseUrl).origin;
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await dir?.close();
});

/** A page that fails the test on any Content-Security-Policy violation or page error. */
async function openPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return { page, problems };
}

/** axe-core over the page as it is: the violations an assistive-technology user would meet. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Through the DevTools protocol, which the page's CSP (no script) does not govern.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => (globalThis as unknown as InPage).axe.run());
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
}

async function checkAndShoot(page: Page, name: string): Promise<void> {
  expect({ page: name, violations: await seriousViolations(page) }).toEqual({ page: name, violations: [] });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const heading = (page: Page): Promise<string> => page.locator('h1').innerText();
const countLine = (page: Page): Promise<string> => page.locator('p.count').innerText();

describe('with JavaScript on', () => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  });
  afterAll(() => context.close());

  it('searches, opens an Organization, follows it to an Endpoint: every page accessible', async () => {
    const { page, problems } = await openPage(context);
    await page.goto(`${origin}/`);
    expect(await heading(page)).toBe('Search the directory');
    await checkAndShoot(page, 'search');
    // The window only, for README.md (docs/web-directory.png is a copy of it).
    await page.screenshot({ path: join(ARTIFACTS, 'search-window.png') });

    await page.getByLabel('Name').fill('Salish Ridge');
    await page.getByLabel('Connection type').selectOption({ label: 'IHE XCPD' });
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/name=Salish\+Ridge.*&connection=ihe-xcpd/);
    expect(await countLine(page)).toMatch(/^1 organization matches/);
    await checkAndShoot(page, 'search-results');

    await page.getByRole('link', { name: 'Salish Ridge Health Information Exchange' }).click();
    await page.waitForURL(/\/organizations\/2\.16\.840\.1\.113883\.3\.99901$/);
    expect(await heading(page)).toBe('Salish Ridge Health Information Exchange');
    await expect(page.getByRole('heading', { name: 'IHE XCPD (1)' }).count()).resolves.toBe(1);
    await checkAndShoot(page, 'organization');

    await page
      .getByRole('link', { name: /XCPD Responding Gateway/ })
      .first()
      .click();
    await page.waitForURL(/\/endpoints\//);
    expect(await page.locator('dl.facts').innerText()).toContain('IHE XCPD');
    await checkAndShoot(page, 'endpoint');

    await page.getByRole('link', { name: 'About', exact: true }).click();
    expect(await heading(page)).toBe('About this directory');
    await checkAndShoot(page, 'about');
    expect(problems).toEqual([]);
  });

  it('pages through results with Next and Previous', async () => {
    const { page, problems } = await openPage(context);
    await page.goto(`${origin}/?status=active`);
    expect(await countLine(page)).toMatch(/showing 1–20\.$/);
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(await countLine(page)).toMatch(/showing 21–40\.$/);
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(await countLine(page)).toMatch(/showing 41–60\.$/);
    await checkAndShoot(page, 'search-page-3');
    await page.getByRole('link', { name: 'Previous page' }).click();
    expect(await countLine(page)).toMatch(/showing 21–40\.$/);
    await page.getByRole('link', { name: 'First page' }).click();
    expect(await countLine(page)).toMatch(/showing 1–20\.$/);
    expect(problems).toEqual([]);
  });

  it('starts keyboard use at a skip link that moves focus to the content, with a visible focus outline', async () => {
    const { page } = await openPage(context);
    await page.goto(`${origin}/`);
    await page.keyboard.press('Tab');
    const focused = page.locator(':focus');
    expect(await focused.innerText()).toBe('Skip to main content');
    expect(
      await focused.evaluate((e) => (globalThis as unknown as InPage).getComputedStyle(e).outlineStyle),
    ).toBe('solid');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.id)).toBe(
      'main',
    );
  });

  it('reflows to a phone screen without horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    try {
      const { page } = await openPage(phone);
      for (const path of ['/?status=active', '/organizations/2.16.840.1.113883.3.99901']) {
        await page.goto(origin + path);
        const [scrollWidth, innerWidth] = await page.evaluate(() => {
          const w = globalThis as unknown as InPage;
          return [w.document.documentElement.scrollWidth, w.innerWidth];
        });
        expect({ path, overflows: scrollWidth > innerWidth }).toEqual({
          path,
          overflows: false,
        });
      }
      await checkAndShoot(page, 'organization-phone');
    } finally {
      await phone.close();
    }
  });
});

describe('with JavaScript off', () => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1100, height: 800 } });
  });
  afterAll(() => context.close());

  it('searches with the form, opens an Organization and an Endpoint, and pages', async () => {
    const { page, problems } = await openPage(context);
    await page.goto(`${origin}/`);
    await page.getByLabel('NPI').fill('1204796480');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/npi=1204796480/);
    expect(await countLine(page)).toMatch(/^1 organization matches/);
    await page.getByRole('link', { name: 'Salish Ridge Health Information Exchange' }).click();
    expect(await heading(page)).toBe('Salish Ridge Health Information Exchange');
    expect(await page.locator('table').first().innerText()).toMatch(
      /HCID\s+urn:oid:2\.16\.840\.1\.113883\.3\.99901/,
    );
    await page
      .getByRole('link', { name: /XCA Responding Gateway/ })
      .first()
      .click();
    await page.waitForURL(/\/endpoints\//);
    expect(await page.locator('dl.facts').innerText()).toContain('IHE XCA');
    await page.screenshot({ path: join(ARTIFACTS, 'endpoint-no-javascript.png'), fullPage: true });

    await page.goto(`${origin}/?status=active`);
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(await countLine(page)).toMatch(/showing 21–40\.$/);
    await page.getByRole('link', { name: 'Previous page' }).click();
    expect(await countLine(page)).toMatch(/showing 1–20\.$/);
    expect(problems).toEqual([]);
  });
});
