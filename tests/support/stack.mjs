// Shared machinery for the browser end-to-end tests: a real collector binary on two free
// loopback ports (tracking domain + demo advertiser site), a real headless Chromium, real HTTP.
//
//   const stack = await startStack(t);            // collector + demo site, killed when t ends
//   const browser = await launchChromium(t);      // closed when t ends
//   await stack.api('/api/reports/clicks?oid=1') // management API with the bearer token
//
// The collector binary is $CLICKSTAMP_BIN, default target/debug/clickstamp (built by
// `cargo build -p clickstamp-collector`, which scripts/test.sh does before running these tests).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
export const COLLECTOR_BIN = process.env.CLICKSTAMP_BIN || path.join(ROOT, 'target', 'debug', 'clickstamp');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const PERSON_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Headless Chromium announces itself as "HeadlessChrome", which the collector's bot filter
  // (rightly) refuses; these tests stand in for a person's browser, so they say what one says.
  `--user-agent=${PERSON_USER_AGENT}`,
];

// Every collector this process started, so that an unexpected exit still kills them.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Two different free ports. */
async function twoPorts() {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

/** Polls fn() until it returns a truthy value; throws with `what` after timeoutMs. */
export async function waitFor(what, fn, { timeoutMs = 15000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

function safeName(s) {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'test';
}

/**
 * Starts `clickstamp serve --demo` on two free ports with a fresh data directory and a random
 * admin token, and waits for GET /healthz = 200. Registers cleanup on the test context `t`
 * (node:test TestContext or SuiteContext with after()), so the collector is killed however the
 * test ends. Returns { collector, site, token, dataDir, api(), log(), stop() }.
 */
export async function startStack(t, { name = t?.name || 'e2e', extraArgs = [] } = {}) {
  if (!fs.existsSync(COLLECTOR_BIN)) {
    throw new Error(`collector binary ${COLLECTOR_BIN} not found: run \`cargo build -p clickstamp-collector\` first`);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = path.join(ARTIFACTS, `${safeName(name)}.collector.log`);

  let lastError;
  // A port picked as free can be taken by someone else before the collector binds it: retry.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [p1, p2] = await twoPorts();
    const stack = launch({ p1, p2, logPath, extraArgs });
    if (t) registerCleanup(t, stack);
    try {
      await stack.ready;
      return stack;
    } catch (e) {
      lastError = e;
      await stack.stop();
      if (!/in use|AddrInUse|address already/i.test(stack.log())) break;
    }
  }
  throw lastError;
}

function registerCleanup(t, stack) {
  const cleanup = () => stack.stop();
  if (typeof t.after === 'function') t.after(cleanup);
  else throw new Error('startStack needs a node:test context with after()');
}

function launch({ p1, p2, logPath, extraArgs }) {
  const token = randomBytes(24).toString('hex');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstamp-e2e-'));
  const collector = `http://127.0.0.1:${p1}`;
  const site = `http://127.0.0.1:${p2}`;
  const args = [
    'serve',
    '--data', dataDir,
    '--addr', `127.0.0.1:${p1}`,
    '--demo',
    '--demo-site', `127.0.0.1:${p2}`,
    ...extraArgs,
  ];
  let output = `$ CLICKSTAMP_ADMIN_TOKEN=… ${COLLECTOR_BIN} ${args.join(' ')}\n`;
  const logFile = fs.openSync(logPath, 'w');
  fs.writeSync(logFile, output);

  const child = spawn(COLLECTOR_BIN, args, {
    cwd: ROOT,
    env: { ...process.env, CLICKSTAMP_ADMIN_TOKEN: token, RUST_BACKTRACE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve(exited);
    });
    child.on('error', (err) => {
      output += `spawn error: ${err.message}\n`;
      exited = { code: null, signal: null, error: err };
      running.delete(child);
      resolve(exited);
    });
  });
  const onData = (chunk) => {
    const s = chunk.toString();
    output += s;
    try { fs.writeSync(logFile, s); } catch { /* log closed */ }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const log = () => output;

  const ready = (async () => {
    const deadline = Date.now() + 30000;
    for (;;) {
      if (exited) {
        throw new Error(`collector exited before it was ready (${JSON.stringify(exited)}); its output:\n${output}`);
      }
      try {
        const res = await fetch(`${collector}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        throw new Error(`collector did not answer GET /healthz with 200 within 30 s; its output:\n${output}`);
      }
      await sleep(100);
    }
  })();

  let stopped = null;
  const stop = () => {
    if (stopped) return stopped;
    stopped = (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const gone = await Promise.race([exitedPromise, sleep(5000).then(() => false)]);
        if (!gone) {
          child.kill('SIGKILL');
          await exitedPromise;
        }
      }
      try { fs.closeSync(logFile); } catch { /* closed */ }
      if (!process.env.CLICKSTAMP_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  /** GET (or other method) on the management API with the admin token; returns parsed JSON. */
  const api = async (pathAndQuery, { method = 'GET', body } = {}) => {
    const res = await fetch(`${collector}${pathAndQuery}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: 'application/json',
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${pathAndQuery} → ${res.status}: ${text}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${method} ${pathAndQuery} → ${res.status}, not JSON: ${text.slice(0, 500)}`);
    }
  };

  return { collector, site, token, dataDir, ports: [p1, p2], ready, stop, api, log, logPath };
}

/** Launches the Debian Chromium headless through playwright-core; closed when `t` ends. */
export async function launchChromium(t) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  if (t) t.after(() => browser.close());
  return browser;
}

/**
 * Records a page's console messages, page errors and failed requests, so a failing test can
 * say what the browser saw. Returns a function that formats them.
 */
export function watchPage(page) {
  const lines = [];
  page.on('console', (m) => lines.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => lines.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) lines.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return () => (lines.length ? lines.join('\n') : '(nothing logged)');
}

/**
 * Waits until a demo page reports <body data-state="done"> and returns it; if the page reports
 * "error" (or never finishes), throws with the page's #error text and what the browser logged.
 */
export async function waitForDemoPage(page, browserLog, { timeoutMs = 20000 } = {}) {
  try {
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: timeoutMs });
  } catch (e) {
    throw new Error(`${page.url()} did not finish within ${timeoutMs} ms (${e.message.split('\n')[0]})\nbrowser:\n${browserLog()}`);
  }
  const state = await page.getAttribute('body', 'data-state');
  if (state !== 'done') {
    const err = await page.textContent('#error').catch(() => '');
    throw new Error(`${page.url()} reported an error: ${err}\nbrowser:\n${browserLog()}`);
  }
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${safeName(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Stops a stack's collector (and its demo site) but keeps its data directory, then starts a new
 * collector on the same ports, data directory and admin token: same origins, so the browser's
 * cookies and localStorage still apply. Call it with the collector running; `t` stops the new
 * one (and removes the data) when the test ends. Returns { collector, site, token, dataDir,
 * ports, stop(), api(), log() } like startStack. Split in two with `{ between }`: an async
 * function run while the collector is down.
 */
export async function restartCollector(t, stack, { name = `${t?.name || 'e2e'}-restarted`, between } = {}) {
  const keep = process.env.CLICKSTAMP_KEEP_DATA;
  process.env.CLICKSTAMP_KEEP_DATA = '1';
  try {
    await stack.stop();
  } finally {
    if (keep === undefined) delete process.env.CLICKSTAMP_KEEP_DATA;
    else process.env.CLICKSTAMP_KEEP_DATA = keep;
  }
  if (between) await between();

  const [p1, p2] = stack.ports;
  const args = ['serve', '--data', stack.dataDir, '--addr', `127.0.0.1:${p1}`, '--demo', '--demo-site', `127.0.0.1:${p2}`];
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = path.join(ARTIFACTS, `${safeName(name)}.collector.log`);
  let output = `$ CLICKSTAMP_ADMIN_TOKEN=… ${COLLECTOR_BIN} ${args.join(' ')}\n`;
  const child = spawn(COLLECTOR_BIN, args, {
    cwd: ROOT,
    env: { ...process.env, CLICKSTAMP_ADMIN_TOKEN: stack.token, RUST_BACKTRACE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; running.delete(child); resolve(exited); });
    child.on('error', (err) => { exited = { error: err.message }; running.delete(child); resolve(exited); });
  });
  const onData = (chunk) => { output += chunk.toString(); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  let stopped = null;
  const stop = () => {
    stopped ||= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        if (!(await Promise.race([exitedPromise, sleep(5000).then(() => false)]))) {
          child.kill('SIGKILL');
          await exitedPromise;
        }
      }
      fs.writeFileSync(logPath, output);
      if (!process.env.CLICKSTAMP_KEEP_DATA) fs.rmSync(stack.dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  if (t) t.after(stop);

  await waitFor('the restarted collector to answer GET /healthz', async () => {
    if (exited) throw new Error(`restarted collector exited (${JSON.stringify(exited)}):\n${output}`);
    const res = await fetch(`http://127.0.0.1:${p1}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  }, { timeoutMs: 30000 });

  return { ...stack, ready: Promise.resolve(), stop, log: () => output, logPath };
}
