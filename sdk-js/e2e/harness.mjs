/**
 * End-to-end harness: Debian's Chromium driven by playwright-core, a fixture site and a
 * receiver that records what the SDK sends, each on its own 127.0.0.1 port (so the SDK
 * posts cross-origin, as on a real site).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';

const CHROMIUM = '/usr/bin/chromium';
const here = new URL('.', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url).pathname;

/** Debian's Chromium; installed with apt when missing and we may (never a downloaded browser). */
export const launchChromium = async () => {
  if (!existsSync(CHROMIUM)) {
    if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: run "apt-get update && apt-get install -y chromium"`);
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
};

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));

const close = (server) =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });

/**
 * The collector's HTTP API as the SDK sees it: 202 {"accepted": n} for envelopes (POST or
 * pixel GET), CORS for any origin. `requests` keeps each one with its headers and the status
 * it got, so a test can tell a beacon (Sec-Fetch-Mode: no-cors) from a fetch. `failWith(body)`
 * may return a status to answer a POST with instead (a collector failing on some batches).
 */
export const startReceiver = async ({ failWith = () => undefined } = {}) => {
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('Access-Control-Allow-Origin', req.headers.origin || '*');
      if (req.method === 'OPTIONS') return res.writeHead(204, { 'Access-Control-Allow-Headers': 'Content-Type' }).end();
      const url = new URL(req.url, 'http://receiver');
      const envelope = req.method === 'GET' ? url.searchParams.get('d') : body;
      let parsed = null;
      try {
        parsed = JSON.parse(envelope);
      } catch {
        /* recorded as unparsed */
      }
      const failure = req.method === 'POST' ? failWith(body) : undefined;
      requests.push({ method: req.method, path: url.pathname, key: url.searchParams.get('key'), headers: req.headers, envelope: parsed, at: Date.now(), status: failure || 202 });
      if (failure) return res.writeHead(failure, { 'Content-Type': 'application/json' }).end('{"error":"scripted failure"}');
      if (url.pathname.endsWith('/pixel.gif'))
        return res.writeHead(200, { 'Content-Type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
      res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted: parsed?.events?.length ?? 0, rejected: [] }));
    });
  });
  // The WebSocket transport: one envelope per text message, one JSON answer per message.
  const sockets = new WebSocketServer({ server, path: '/api/e2e/ws' });
  sockets.on('connection', (socket, req) => {
    const key = new URL(req.url, 'http://receiver').searchParams.get('key');
    socket.on('message', (data) => {
      const envelope = JSON.parse(String(data));
      requests.push({ method: 'WS', path: '/api/e2e/ws', key, headers: req.headers, envelope, at: Date.now() });
      socket.send(JSON.stringify({ status: 202, accepted: envelope.events.length, rejected: [] }));
    });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    /** Every event received, with its envelope's context merged in and how it came. */
    events: () =>
      requests
        .filter((r) => r.envelope)
        .flatMap((r) =>
          r.envelope.events.map((e) => ({ ...r.envelope.context, ...e, via: via(r) })),
        ),
    close: () => {
      sockets.clients.forEach((c) => c.terminate());
      return close(server);
    },
  };
};

const via = (r) =>
  r.method === 'WS' ? 'websocket' : r.method === 'GET' ? 'pixel' : r.headers['sec-fetch-mode'] === 'no-cors' ? 'beacon' : 'fetch';

/**
 * A photo-like PNG (random pixels). Chromium skips low-entropy images (flat SVG shapes) as
 * LCP candidates, so the hero must carry real image data to be the largest contentful paint.
 */
const noisyPng = (width, height) => {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let i = 0; i < rows.length; i++) rows[i] = i % (width * 3 + 1) === 0 ? 0 : (Math.random() * 256) | 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
};
const HERO = noisyPng(320, 160);

/** The fixture shop: e2e/fixtures, the built bundle, a hero image, and the shop's own API. */
export const startSite = async (collectorUrl) => {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://site').pathname;
    if (path === '/api/cart') return res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"db down"}');
    if (path === '/api/slow') return setTimeout(() => res.writeHead(200).end('late'), 2000);
    if (path === '/hero.png') return res.writeHead(200, { 'Content-Type': 'image/png' }).end(HERO);
    if (path === '/vigil.min.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(dist + 'vigil.min.js'));
    const file = { '/': 'index.html', '/cart': 'index.html', '/app.js': 'app.js', '/stub': 'stub.html' }[path];
    if (!file) return res.writeHead(404).end('not found');
    const type = { html: 'text/html', js: 'text/javascript' }[file.split('.').pop()];
    const transport = new URL(req.url, 'http://site').searchParams.get('transport') || 'auto';
    const text = readFileSync(here + 'fixtures/' + file, 'utf8').replaceAll('{{COLLECTOR}}', collectorUrl).replaceAll('{{TRANSPORT}}', transport).replaceAll('{{PROJECT}}', 'e2e').replaceAll('{{KEY}}', 'pk_e2e');
    res.writeHead(200, { 'Content-Type': type + '; charset=utf-8' }).end(text);
  });
  const url = await listen(server);
  return { url, close: () => close(server) };
};

/** Poll `check` until it returns something truthy. */
export const waitFor = async (check, what, ms = 10000) => {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * Receiver, site and browser for one test file: started before its tests, closed after them.
 * `const bench = useBench()`, then `bench.receiver`, `bench.site`, `bench.browser` in the tests.
 */
export const useBench = (receiverOptions) => {
  const bench = {};
  before(async () => {
    bench.receiver = await startReceiver(receiverOptions);
    bench.site = await startSite(bench.receiver.url);
    bench.browser = await launchChromium();
  });
  after(async () => {
    await bench.browser?.close();
    await bench.site?.close();
    await bench.receiver?.close();
  });
  return bench;
};
