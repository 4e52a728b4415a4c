// The WebAssembly SDK in a real browser, scenario by scenario: redirect-link landings, Google-style
// direct links, consent, a collector that is down while the visitor orders, and two offers of one
// advertiser on one site. Every scenario is checked where it matters: the collector's reports
// (`/api/reports/clicks|conversions`) and the browser's own cookies and storage, not page text.
//
// Real collector binary (debug build, `--demo --demo-site`), real headless Chromium, real HTTP;
// the tracking domain and the advertiser's site are different origins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startStack, launchChromium, watchPage, waitForDemoPage, waitFor, screenshot, restartCollector,
} from '../support/stack.mjs';

const TID = /^[0-9a-f]{32}$/;

async function clickRows(stack, oid) {
  const report = await stack.api(`/api/reports/clicks?oid=${oid}`);
  assert.ok(Array.isArray(report.rows), `click report has rows[]: ${JSON.stringify(report)}`);
  return report.rows;
}

async function conversionRows(stack, oid) {
  const report = await stack.api(`/api/reports/conversions?oid=${oid}`);
  assert.ok(Array.isArray(report.rows), `conversion report has rows[]: ${JSON.stringify(report)}`);
  return report.rows;
}

/** The site's cookies by name. */
async function cookieJar(context, site) {
  return Object.fromEntries((await context.cookies(site)).map((c) => [c.name, c]));
}

/** Every request the page makes to the collector, as "METHOD /path". */
function collectorRequests(page, collector) {
  const seen = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === collector) seen.push(`${r.method()} ${u.pathname}`);
  });
  return seen;
}

async function landingTid(page, browserLog) {
  await waitForDemoPage(page, browserLog);
  const tid = (await page.textContent('#tid')).trim();
  assert.match(tid, TID, `the landing page got a transaction ID (got ${JSON.stringify(tid)})\n${browserLog()}`);
  return tid;
}

test('redirect link: the landing page reuses cs_tid, so the click is counted once', async (t) => {
  const stack = await startStack(t, { name: 'sdk-redirect-reuse' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);
  const requests = collectorRequests(page, stack.collector);

  await page.goto(`${stack.collector}/clk?oid=1&affid=2&sub1=banner`);
  const tid = await landingTid(page, browserLog);
  assert.match(await page.textContent('#via'), /redirect link/);

  // The SDK asked the collector about that click (GET /clk?...transaction_id=…) but made no new one.
  const rows = await clickRows(stack, 1);
  assert.deepEqual(rows.map((r) => r.transaction_id), [tid], `exactly one click, the redirect's: ${JSON.stringify(rows)}`);
  assert.equal(rows[0].affid, 2);
  assert.equal(rows[0].sub1, 'banner');
  assert.equal(requests.filter((r) => r === 'GET /clk').length, 2, `the redirect and one SDK lookup: ${requests}`);

  const jar = await cookieJar(context, stack.site);
  assert.equal(jar.cs_tid_o_1?.value, tid, `cs_tid_o_1 holds the redirect's ID: ${JSON.stringify(jar)}`);
  assert.equal(jar.cs_tid_a_1?.value, tid, 'the advertiser cookie holds it too');
  assert.equal(jar.cs_tid_o_1.sameSite, 'Lax');
  assert.equal(new URL(page.url()).searchParams.get('cs_tid'), null, `cs_tid tidied out of ${page.url()}`);

  // A reload of the tidied page counts nothing more.
  await page.reload();
  await waitForDemoPage(page, browserLog);
  assert.equal((await clickRows(stack, 1)).length, 1, 'a reload adds no click');
});

test('direct link with a Google click ID: one click carrying the gclid, tracking parameters tidied', async (t) => {
  const stack = await startStack(t, { name: 'sdk-direct-gclid' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);
  const gclid = 'Cj0KCQjw-test_Gclid-123';

  await page.goto(`${stack.site}/index.html?oid=1&affid=1&gclid=${gclid}&utm_source=google&utm_medium=cpc#details`);
  const tid = await landingTid(page, browserLog);
  await screenshot(page, 'sdk-direct-gclid');

  const rows = await clickRows(stack, 1);
  assert.equal(rows.length, 1, `one click: ${JSON.stringify(rows)}`);
  assert.equal(rows[0].transaction_id, tid);
  assert.equal(rows[0].gclid, gclid, 'the Click Report carries the gclid the SDK picked up from the URL');
  assert.equal(rows[0].affid, 1);
  assert.equal(rows[0].kind, 'sdk');

  const url = new URL(page.url());
  assert.equal(url.searchParams.get('oid'), null, `oid removed from ${url}`);
  assert.equal(url.searchParams.get('affid'), null, `affid removed from ${url}`);
  assert.equal(url.searchParams.get('utm_source'), 'google', `utm_source kept in ${url}`);
  assert.equal(url.searchParams.get('utm_medium'), 'cpc');
  assert.equal(url.searchParams.get('gclid'), gclid, "gclid kept for the ad platform's own tag");
  assert.equal(url.hash, '#details', 'the fragment is kept');

  const jar = await cookieJar(context, stack.site);
  assert.equal(jar.cs_tid_o_1?.value, tid, `cs_tid_o_1: ${JSON.stringify(jar)}`);
  assert.equal(jar.cs_tid_a_1?.value, tid);
  const copy = await page.evaluate(() => localStorage.getItem('cs_tid_o_1'));
  assert.ok(copy?.startsWith(`${tid}.`), `localStorage copy with its expiry: ${copy}`);
});

test('consent: nothing is sent or stored until consent(true), then the held click goes out', async (t) => {
  const stack = await startStack(t, { name: 'sdk-consent' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);
  const requests = collectorRequests(page, stack.collector);

  await page.goto(`${stack.site}/consent.html?oid=1&affid=1&sub1=consent`);
  await page.waitForSelector('body[data-sdk="loaded"]', { timeout: 20000 });
  // Give a click that was not held every chance to go out.
  await sleep(1500);
  assert.deepEqual(requests.filter((r) => !r.startsWith('GET /sdk/')), [], 'no tracking request before the decision');
  assert.equal(await page.getAttribute('body', 'data-state'), 'loading', 'click() is still pending');
  assert.deepEqual(Object.keys(await cookieJar(context, stack.site)), [], 'no cookie before the decision');
  assert.deepEqual(
    await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cs_'))), [],
    'nothing in localStorage before the decision',
  );
  assert.equal((await clickRows(stack, 1)).length, 0, 'the collector saw no click');
  assert.equal(new URL(page.url()).searchParams.get('oid'), '1', 'the URL is untouched until the click is stored');

  await page.click('#accept');
  const tid = await landingTid(page, browserLog);
  const rows = await clickRows(stack, 1);
  assert.deepEqual(rows.map((r) => r.transaction_id), [tid], 'the held click went out once consent came');
  assert.equal(rows[0].sub1, 'consent');
  const jar = await cookieJar(context, stack.site);
  assert.equal(jar.cs_tid_o_1?.value, tid, `cookie written after consent: ${JSON.stringify(jar)}`);
  assert.equal(await page.evaluate(() => localStorage.getItem('cs_consent')), '1', 'the decision is remembered');
  assert.equal(new URL(page.url()).searchParams.get('oid'), null, 'tidied once stored');
});

test('consent refused: the held click is dropped, nothing sent, nothing stored', async (t) => {
  const stack = await startStack(t, { name: 'sdk-consent-refused' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);
  const requests = collectorRequests(page, stack.collector);

  await page.goto(`${stack.site}/consent.html?oid=1&affid=1`);
  await page.waitForSelector('body[data-sdk="loaded"]', { timeout: 20000 });
  await page.click('#decline');
  await waitForDemoPage(page, browserLog);
  assert.equal((await page.textContent('#tid')).trim(), 'none', 'click() resolved "" once refused');
  await sleep(500);
  assert.deepEqual(requests.filter((r) => !r.startsWith('GET /sdk/')), [], 'no tracking request at all');
  assert.deepEqual(Object.keys(await cookieJar(context, stack.site)), []);
  assert.equal(await page.evaluate(() => localStorage.getItem('cs_consent')), '0', 'the refusal is remembered');
  assert.equal((await clickRows(stack, 1)).length, 0);
});

test('collector down while ordering: the conversion is queued and recorded exactly once after restart', async (t) => {
  let stack = await startStack(t, { name: 'sdk-collector-down' });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);

  await page.goto(`${stack.site}/index.html?oid=1&affid=1&sub1=outage`);
  const tid = await landingTid(page, browserLog);
  await page.goto(`${stack.site}/checkout.html?offer=1&order=OUT-1`);
  await page.waitForSelector('body[data-sdk="loaded"]', { timeout: 20000 });

  let queued;
  stack = await restartCollector(t, stack, {
    between: async () => {
      // The collector (and the demo site) are down: the visitor places the order now.
      await page.click('#place');
      await waitForDemoPage(page, browserLog);
      assert.equal((await page.textContent('#status')).trim(), 'queued', `the SDK queued it\n${browserLog()}`);
      queued = await page.evaluate(() => localStorage.getItem('cs_queue'));
      assert.match(queued ?? '', /idempotency_key=[0-9a-f]{32}/, `one queued entry with its key: ${queued}`);
      assert.equal(queued.trim().split('\n').length, 1);
    },
  });
  assert.equal((await conversionRows(stack, 1)).length, 0, 'nothing reached the collector while it was down');

  // The next page load (no conversion of its own) sends the queued one.
  await page.goto(`${stack.site}/index.html`);
  await waitForDemoPage(page, browserLog);
  const rows = await waitFor('the queued conversion in the report', async () => {
    const r = await conversionRows(stack, 1);
    return r.length ? r : null;
  });
  assert.equal(rows.length, 1, `one conversion: ${JSON.stringify(rows)}`);
  assert.equal(rows[0].transaction_id, tid, 'attributed to the landing click');
  assert.equal(rows[0].order_id, 'OUT-1');
  assert.equal(rows[0].status, 'approved');
  await waitFor('the queue to empty', () => page.evaluate(() => localStorage.getItem('cs_queue') === null));

  // The same entry sent again (a page that unloaded before the answer came back): the
  // idempotency key makes the collector answer with its first answer, not count it twice.
  await page.evaluate((q) => localStorage.setItem('cs_queue', q), queued);
  await page.reload();
  await waitForDemoPage(page, browserLog);
  await waitFor('the re-sent entry to leave the queue', () => page.evaluate(() => localStorage.getItem('cs_queue') === null));
  await page.reload();
  await waitForDemoPage(page, browserLog);
  assert.equal((await conversionRows(stack, 1)).length, 1, 'still exactly one conversion');
});

test('two offers of one advertiser: both cookies kept, each conversion goes to its own click', async (t) => {
  const stack = await startStack(t, { name: 'sdk-two-offers' });
  const offer = await stack.api('/api/offers', {
    method: 'POST',
    body: {
      advertiser_id: 1,
      name: 'Demo Shop — socks',
      destination_url: `${stack.site}/index.html?cs_tid={transaction_id}`,
    },
  });
  const oid2 = offer.id;
  assert.ok(Number.isInteger(oid2) && oid2 !== 1, `a second offer: ${JSON.stringify(offer)}`);
  assert.equal(offer.advertiser_id, 1);

  const browser = await launchChromium(t);
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserLog = watchPage(page);

  await page.goto(`${stack.site}/index.html?oid=1&affid=1&sub1=sneakers`);
  const tid1 = await landingTid(page, browserLog);
  await page.goto(`${stack.site}/index.html?oid=${oid2}&affid=2&sub1=socks`);
  const tid2 = await landingTid(page, browserLog);
  assert.notEqual(tid1, tid2);

  const jar = await cookieJar(context, stack.site);
  assert.equal(jar.cs_tid_o_1?.value, tid1, `offer 1's cookie kept: ${JSON.stringify(jar)}`);
  assert.equal(jar[`cs_tid_o_${oid2}`]?.value, tid2, "offer 2's cookie");
  assert.equal(jar.cs_tid_a_1?.value, tid2, "the advertiser cookie holds the latest click");

  for (const [oid, order] of [[oid2, 'SOCKS-1'], [1, 'SNEAKERS-1']]) {
    await page.goto(`${stack.site}/checkout.html?offer=${oid}&order=${order}`);
    await page.waitForSelector('body[data-sdk="loaded"]', { timeout: 20000 });
    await page.click('#place');
    await waitForDemoPage(page, browserLog);
    assert.equal((await page.textContent('#status')).trim(), 'approved', `offer ${oid}'s conversion\n${browserLog()}`);
  }

  const [c1, c2] = [await conversionRows(stack, 1), await conversionRows(stack, oid2)];
  assert.equal(c1.length, 1, `one conversion for offer 1: ${JSON.stringify(c1)}`);
  assert.equal(c1[0].transaction_id, tid1, "offer 1's conversion goes to offer 1's click");
  assert.equal(c1[0].affid, 1);
  assert.equal(c1[0].order_id, 'SNEAKERS-1');
  assert.equal(c2.length, 1, `one conversion for offer ${oid2}: ${JSON.stringify(c2)}`);
  assert.equal(c2[0].transaction_id, tid2, "offer 2's conversion goes to offer 2's click");
  assert.equal(c2[0].affid, 2);
  assert.equal(c2[0].order_id, 'SOCKS-1');
});
