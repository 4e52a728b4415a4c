// The dashboard, end to end: sign in with the admin token (keyboard only), send a click and a
// conversion through the demo advertiser's pages, and find both in the dashboard's tables and
// chart; make a tracking link; check it reads at 375 px; the token never appears in a URL.
//
// Real collector binary, real headless Chromium, real HTTP on loopback ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchChromium, watchPage, waitForDemoPage, screenshot,
} from '../support/stack.mjs';

const TID = /^[0-9a-f]{32}$/;

test('dashboard: sign in, see the demo click and conversion in the tables and the chart', async (t) => {
  const stack = await startStack(t, { name: 'dashboard' });
  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const dash = await context.newPage();
  const dashLog = watchPage(dash);
  const urls = [];
  dash.on('request', (r) => urls.push(r.url()));

  // --- sign in -------------------------------------------------------------------------------
  await dash.goto(`${stack.collector}/`);
  assert.equal(new URL(dash.url()).pathname, '/dashboard/', '/ leads to the dashboard');
  await dash.waitForSelector('#token:focus', { timeout: 5000 });

  // A wrong token is refused, visibly.
  await dash.keyboard.type('not-the-token');
  await dash.keyboard.press('Enter');
  await dash.waitForSelector('#sign-in-error:not(:empty)');
  assert.match(await dash.textContent('#sign-in-error'), /not accepted/);
  assert.equal(await dash.isVisible('#app'), false);

  // The right one, typed and submitted from the keyboard.
  await dash.focus('#token');
  await dash.keyboard.type(stack.token);
  await dash.keyboard.press('Tab');
  const focused = await dash.evaluate(() => document.activeElement.textContent);
  assert.equal(focused, 'Sign in', 'Tab from the token field reaches the Sign in button');
  await dash.keyboard.press('Enter');
  await dash.waitForSelector('#app:not([hidden])');
  await dash.waitForSelector('#clicks-table tbody tr');
  assert.match(await dash.textContent('#clicks-table tbody'), /Nothing yet/, 'no clicks before the visit');
  assert.equal(await dash.evaluate(() => sessionStorage.getItem('clickstamp.token')), stack.token);

  // --- a visitor clicks and buys on the demo site ----------------------------------------------
  const shop = await context.newPage();
  const shopLog = watchPage(shop);
  await shop.goto(`${stack.site}/index.html?oid=1&affid=1&sub1=spring`);
  await waitForDemoPage(shop, shopLog);
  const tid = (await shop.textContent('#tid')).trim();
  assert.match(tid, TID);
  await Promise.all([shop.waitForURL(/\/thank-you\.html/), shop.click('#buy')]);
  await waitForDemoPage(shop, shopLog);
  assert.equal((await shop.textContent('#status')).trim(), 'approved');
  const conversionId = (await shop.textContent('#conversion-id')).trim();
  await shop.close();

  // --- the dashboard shows both ---------------------------------------------------------------
  await dash.bringToFront();
  await dash.click('#refresh');
  const clickRow = dash.locator(`#clicks-table tr[data-id="${tid}"]`);
  await clickRow.waitFor({ timeout: 10000 }).catch((e) => {
    throw new Error(`click ${tid} not in the dashboard's Click Report (${e.message.split('\n')[0]})\nbrowser:\n${dashLog()}`);
  });
  const cell = async (row, col) => (await row.locator(`td[data-col="${col}"]`).textContent()).trim();
  assert.equal(await cell(clickRow, 'affid'), '1');
  assert.equal(await cell(clickRow, 'sub1'), 'spring');
  assert.equal(await cell(clickRow, 'unique'), 'yes');

  const convRow = dash.locator(`#conversions-table tr[data-id="${conversionId}"]`);
  await convRow.waitFor({ timeout: 10000 });
  assert.equal(await cell(convRow, 'transaction_id'), tid);
  assert.equal(await cell(convRow, 'status'), 'approved');
  assert.equal(await cell(convRow, 'amount'), '49.90');
  assert.equal(await cell(convRow, 'payout'), '5.00');
  assert.match(await cell(convRow, 'click_to_conversion_ms'), /^\d+ (s|min)/, 'the delay since the click');

  // Tiles and chart count them.
  assert.equal((await dash.textContent('#tiles dd[data-metric="gross_clicks"]')).trim(), '1');
  assert.equal((await dash.textContent('#tiles dd[data-metric="conversions"]')).trim(), '1');
  assert.equal((await dash.textContent('#tiles dd[data-metric="revenue"]')).trim(), '8.00');
  const chart = dash.locator('#chart svg');
  assert.equal(await chart.getAttribute('data-clicks'), '1');
  assert.equal(await chart.getAttribute('data-conversions'), '1');
  assert.match(await chart.getAttribute('aria-label'), /1 clicks, 1 conversions/);
  const today = new Date().toISOString().slice(0, 10);
  const bars = await dash.$$eval('#chart rect.clicks title', (ts) => ts.map((x) => x.textContent));
  assert.ok(bars.includes(`${today}: 1 clicks, 1 conversions`), `today's bar: ${bars.join(' | ')}`);
  const barHeight = await dash.$eval('#chart rect.clicks:last-of-type', (r) => Number(r.getAttribute('height')));
  assert.ok(barHeight > 0, 'today has a visible bar');

  // Summary grouped by day and sub1.
  await dash.check('#g-sub1');
  await dash.click('#summary-form button[type="submit"]');
  await dash.waitForFunction(() => document.querySelector('#summary-table thead')?.textContent.includes('sub1'));
  const summaryRow = await dash.$$eval('#summary-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(summaryRow[0].slice(0, 4), [today, 'spring', '1', '1'], `summary: ${JSON.stringify(summaryRow)}`);

  // Filters: another partner has nothing.
  await dash.fill('#f-affid', '2');
  await dash.click('#filters button[type="submit"]');
  await dash.waitForFunction(() => document.querySelector('#clicks-table tbody')?.textContent.includes('Nothing yet'));
  await dash.fill('#f-affid', '');
  await dash.click('#filters button[type="submit"]');
  await clickRow.waitFor();

  // Tracking-link generator.
  await dash.fill('#l-oid', '1');
  await dash.fill('#l-affid', '1');
  await dash.fill('#l-sub1', 'spring');
  await dash.click('#link-form button[type="submit"]');
  await dash.waitForSelector('#link-out:not([hidden])');
  const redirect = await dash.inputValue('#redirect-link');
  assert.ok(redirect.startsWith(`${stack.collector}/clk?`), redirect);
  assert.equal(new URL(redirect).searchParams.get('sub1'), 'spring');
  const direct = await dash.inputValue('#direct-link');
  assert.ok(direct.startsWith(`${stack.site}/index.html`), `direct link to the demo landing page: ${direct}`);

  await dash.evaluate(() => window.scrollTo(0, 0));
  const desktop = await screenshot(dash, 'dashboard');

  // --- 375 px wide: nothing spills out sideways ------------------------------------------------
  await dash.setViewportSize({ width: 375, height: 812 });
  const overflow = await dash.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `page is ${overflow} px wide at a 375 px viewport`);
  // The chart redraws at the width it is shown at, so its text stays readable.
  await dash.waitForFunction(() => Number(document.querySelector('#chart svg').viewBox.baseVal.width) <= 375);
  assert.equal(await dash.getAttribute('#chart svg', 'data-clicks'), '1');
  await screenshot(dash, 'dashboard-375');

  // A reload keeps the session (same tab); the token never went into a URL.
  await dash.reload();
  await dash.waitForSelector(`#clicks-table tr[data-id="${tid}"]`);
  assert.ok(!urls.some((u) => u.includes(stack.token)), 'the token is never in a URL');
  await dash.click('#sign-out');
  await dash.waitForSelector('#sign-in:not([hidden])');
  assert.equal(await dash.evaluate(() => sessionStorage.getItem('clickstamp.token')), null);
  assert.ok(desktop.endsWith('dashboard.png'));
});
