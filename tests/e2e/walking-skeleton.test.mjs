// The walking skeleton, end to end: a visitor lands on the advertiser's site through a partner's
// link, the wasm SDK gets a transaction ID from the collector and keeps it as a first-party
// cookie, the visitor buys, the thank-you page reports the conversion, and the collector's
// reports say which partner gets paid — exactly once, even when the thank-you page is reloaded.
//
// Real collector binary (debug build), real headless Chromium, real HTTP on loopback ports.
// The tracking domain (collector) and the advertiser site (demo pages) are different origins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchChromium, watchPage, waitForDemoPage, screenshot,
} from '../support/stack.mjs';

const TID = /^[0-9a-f]{32}$/;

/** The conversion rows of one transaction, from the conversion report. */
async function conversionsOf(stack, tid) {
  const report = await stack.api('/api/reports/conversions?oid=1');
  assert.ok(Array.isArray(report.rows), `conversion report has rows[]: ${JSON.stringify(report)}`);
  return report.rows.filter((r) => r.transaction_id === tid);
}

/** Counts the browser's requests to the collector's /conversion endpoint. */
function countConversionRequests(page, collector) {
  const counter = { n: 0 };
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === collector && u.pathname === '/conversion' && r.method() !== 'OPTIONS') counter.n++;
  });
  return counter;
}

test('direct link: landing page gets a transaction ID, thank-you page converts it once', async (t) => {
  const stack = await startStack(t, { name: 'walking-skeleton-direct' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);
  const conversionRequests = countConversionRequests(page, stack.collector);

  try {
    // --- landing page: a partner's direct link -------------------------------------------
    await page.goto(`${stack.site}/index.html?oid=1&affid=1&sub1=spring&gclid=abc`);
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-landing');
    const tid = (await page.textContent('#tid')).trim();
    assert.match(tid, TID, `landing page shows a 32-hex transaction ID (got ${JSON.stringify(tid)})`);
    assert.equal((await page.textContent('#affid')).trim(), '1', 'the page shows the partner from the link');
    assert.equal((await page.textContent('#sub1')).trim(), 'spring');
    assert.match(await page.textContent('#via'), /direct link/);

    // The ID is kept as a first-party cookie on the advertiser's site, written by the SDK.
    const cookies = await context.cookies(stack.site);
    const byOffer = cookies.find((c) => c.name === 'cs_tid_o_1');
    assert.ok(byOffer, `cookie cs_tid_o_1 on ${stack.site}; cookies there: ${JSON.stringify(cookies)}`);
    assert.equal(byOffer.value, tid, 'cs_tid_o_1 holds the transaction ID the page shows');
    assert.equal(byOffer.path, '/');
    assert.equal(byOffer.httpOnly, false, 'written by the page (document.cookie), not by a server');
    assert.equal(byOffer.sameSite, 'Lax');
    assert.ok(byOffer.expires > Date.now() / 1000 + 3600, `cs_tid_o_1 is persistent (expires ${byOffer.expires})`);
    // ...and per advertiser, so a thank-you page that knows only the advertiser finds it too.
    const byAdvertiser = cookies.find((c) => c.name === 'cs_tid_a_1');
    assert.equal(byAdvertiser?.value, tid, `cookie cs_tid_a_1 (advertiser 1) holds it; cookies: ${JSON.stringify(cookies)}`);
    const pageCookie = await page.evaluate(() => document.cookie);
    assert.ok(pageCookie.split('; ').includes(`cs_tid_o_1=${tid}`), `document.cookie has it: ${pageCookie}`);

    // The collector recorded that click, with the partner and the sub value from the link.
    const clicks = await stack.api('/api/reports/clicks?oid=1');
    assert.ok(Array.isArray(clicks.rows), `click report has rows[]: ${JSON.stringify(clicks)}`);
    assert.ok('next_cursor' in clicks, 'click report has next_cursor');
    const click = clicks.rows.find((r) => r.transaction_id === tid);
    assert.ok(click, `click ${tid} in the click report: ${JSON.stringify(clicks.rows)}`);
    assert.equal(Number(click.oid), 1);
    assert.equal(Number(click.affid), 1);
    assert.equal(click.sub1, 'spring');
    assert.equal(click.gclid, 'abc');
    assert.equal(clicks.rows.filter((r) => r.transaction_id === tid).length, 1, 'one click row for one visit');

    // --- thank-you page: the visitor buys -------------------------------------------------
    await Promise.all([page.waitForURL(/\/thank-you\.html/), page.click('#buy')]);
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-thank-you');
    assert.equal((await page.textContent('#status')).trim(), 'approved',
      `thank-you page status; browser:\n${browserLog()}`);
    const conversionId = (await page.textContent('#conversion-id')).trim();
    assert.ok(conversionId && conversionId !== '–', 'thank-you page shows a conversion ID');
    const orderId = (await page.textContent('#order-id')).trim();
    assert.match(orderId, /^DEMO-/);

    let rows = await conversionsOf(stack, tid);
    assert.equal(rows.length, 1, `one conversion for ${tid}: ${JSON.stringify(rows)}`);
    const conv = rows[0];
    assert.equal(conv.status, 'approved');
    assert.equal(String(conv.conversion_id), conversionId, 'report and page agree on the conversion ID');
    assert.equal(Number(conv.oid), 1);
    assert.equal(Number(conv.affid), 1, 'partner 1 gets the credit');
    assert.equal(conv.sub1, 'spring');
    assert.equal(Number(conv.amount), 49.9);
    assert.equal(conv.order_id, orderId);

    // --- reload the thank-you page: the partner is still paid exactly once -----------------
    const before = conversionRequests.n;
    await page.reload();
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-thank-you-reloaded');
    assert.equal((await page.textContent('#order-id')).trim(), orderId, 'a reload reports the same order');
    const reloadStatus = (await page.textContent('#status')).trim();
    const reloadConversionId = (await page.textContent('#conversion-id')).trim();
    assert.ok(
      reloadStatus === 'duplicate' || (reloadStatus === 'approved' && reloadConversionId === conversionId),
      `after a reload the page shows "duplicate" or the same approved conversion (got ${reloadStatus} ${reloadConversionId})`,
    );

    // The page showed the reload's answer, and a conversion is stored before it is answered.
    rows = await conversionsOf(stack, tid);
    const approved = rows.filter((r) => r.status === 'approved');
    assert.equal(approved.length, 1, `exactly one approved conversion after a reload: ${JSON.stringify(rows)}`);
    assert.equal(String(approved[0].conversion_id), conversionId);
    const others = rows.filter((r) => r.status !== 'approved');
    for (const r of others) assert.equal(r.status, 'duplicate', `a second row can only be a duplicate: ${JSON.stringify(r)}`);
    assert.ok(others.length <= conversionRequests.n - before,
      `a duplicate row exists only if the reload sent a request (${conversionRequests.n - before} sent, ${others.length} duplicate rows)`);
  } catch (e) {
    e.message += `\n--- collector output (${stack.logPath}) ---\n${stack.log().slice(-4000)}`;
    throw e;
  }
});

test('redirect link: the tracking domain forwards with cs_tid and the landing page keeps that ID', async (t) => {
  const stack = await startStack(t, { name: 'walking-skeleton-redirect' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);

  try {
    // The partner's redirect link on the tracking domain. "localhost" rather than 127.0.0.1 keeps
    // the tracking domain's own cookie apart from the landing site's (cookies ignore ports).
    const trackingHost = stack.collector.replace('127.0.0.1', 'localhost');
    // The redirect's Location (the SDK may tidy cs_tid out of the address bar afterwards).
    const redirects = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${trackingHost}/clk`)) redirects.push({ status: r.status(), location: r.headers().location });
    });
    await page.goto(`${trackingHost}/clk?oid=1&affid=2&sub1=banner`);
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-redirect-landing');

    assert.equal(redirects.length, 1, `one response from /clk: ${JSON.stringify(redirects)}`);
    assert.equal(redirects[0].status, 302);
    const target = new URL(redirects[0].location, trackingHost);
    assert.equal(`${target.origin}${target.pathname}`, `${stack.site}/index.html`,
      `the redirect goes to the offer's landing page on the advertiser site (${target})`);
    const tidFromUrl = target.searchParams.get('cs_tid');
    assert.match(tidFromUrl ?? '', TID, `the redirect carries cs_tid (${target})`);
    assert.equal(new URL(page.url()).origin, stack.site, `the browser is on the advertiser site (${page.url()})`);
    assert.match(await page.textContent('#via'), /redirect link/);
    const tid = (await page.textContent('#tid')).trim();
    assert.equal(tid, tidFromUrl, 'the SDK reuses the redirect\'s transaction ID instead of making a new click');

    const byOffer = (await context.cookies(stack.site)).find((c) => c.name === 'cs_tid_o_1');
    assert.equal(byOffer?.value, tid, 'first-party cookie cs_tid_o_1 on the advertiser site holds it');

    const clicks = await stack.api('/api/reports/clicks?oid=1');
    const mine = clicks.rows.filter((r) => r.transaction_id === tid);
    assert.equal(mine.length, 1, `exactly one click for ${tid}, none added by the SDK: ${JSON.stringify(clicks.rows)}`);
    assert.equal(clicks.rows.length, 1, `the landing page did not create a second click: ${JSON.stringify(clicks.rows)}`);
    assert.equal(Number(mine[0].affid), 2);
    assert.equal(mine[0].sub1, 'banner');

    await Promise.all([page.waitForURL(/\/thank-you\.html/), page.click('#buy')]);
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-redirect-thank-you');
    assert.equal((await page.textContent('#status')).trim(), 'approved');
    const rows = await conversionsOf(stack, tid);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].status, 'approved');
    assert.equal(Number(rows[0].affid), 2, 'partner 2, who sent the visitor, gets the credit');
    assert.equal(rows[0].sub1, 'banner');
  } catch (e) {
    e.message += `\n--- collector output (${stack.logPath}) ---\n${stack.log().slice(-4000)}`;
    throw e;
  }
});

test('no click parameters: nothing is tracked, and an order is reported as unattributed', async (t) => {
  const stack = await startStack(t, { name: 'walking-skeleton-untracked' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);

  try {
    // A visit without a tracking link: click() resolves "" instead of hanging or inventing a click.
    await page.goto(`${stack.site}/index.html`);
    await waitForDemoPage(page, browserLog);
    assert.equal((await page.textContent('#tid')).trim(), 'none');
    assert.equal(await page.isVisible('#untracked'), true, 'the page says there is nothing to attribute');
    const cookies = await context.cookies(stack.site);
    assert.deepEqual(cookies.filter((c) => c.name.startsWith('cs_tid')), [], 'no tracking cookie without a click');
    const clicks = await stack.api('/api/reports/clicks?oid=1');
    assert.deepEqual(clicks.rows, [], 'no click recorded');

    // The order still reaches the collector, visibly unattributed ("Others"), not dropped.
    await Promise.all([page.waitForURL(/\/thank-you\.html/), page.click('#buy')]);
    await waitForDemoPage(page, browserLog);
    await screenshot(page, 'walking-skeleton-unattributed-thank-you');
    assert.equal((await page.textContent('#status')).trim(), 'unattributed');
    const orderId = (await page.textContent('#order-id')).trim();
    const report = await stack.api('/api/reports/conversions?oid=1');
    const mine = report.rows.filter((r) => r.order_id === orderId);
    assert.equal(mine.length, 1, `the unattributed order is in the conversion report: ${JSON.stringify(report.rows)}`);
    assert.equal(mine[0].status, 'unattributed');
    assert.ok(!mine[0].transaction_id, 'no transaction ID on an unattributed conversion');
  } catch (e) {
    e.message += `\n--- collector output (${stack.logPath}) ---\n${stack.log().slice(-4000)}`;
    throw e;
  }
});
