// Unit tests of getSiteBundle, with a fake fetch that serves a site as the API does
// (manifest, bundle, page route, ETags and 304s): `node --test frontend/*.test.js`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { getSiteBundle, RenderConfigError, siteBundleUrl, siteManifestUrl } from './render-config.js';

const API = 'http://api.test';

const config = (page, version, title = `${page} v${version}`) => ({
  site: 'shop',
  page,
  layout: 'hero',
  theme: 'dark',
  settings: { title },
  version,
  updatedAt: `2026-01-0${version}T00:00:00Z`,
});

/**
 * A site as the API serves it: `pages` maps a page to its served config. `partSize`
 * pages per part stand in for DynamoDB's 1 MB. Records each request (url and headers).
 */
function fakeSite(pages, { partSize = 100 } = {}) {
  const site = { pages, calls: [], down: false };
  const tagOf = (page) => `"id-${page}.${site.pages[page].version}"`;
  const siteTag = (names) => `"set-${names.map((name) => `${name}=${tagOf(name)}`).join(',')}"`;
  const json = (status, body, headers = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
  site.fetch = async (url, init) => {
    site.calls.push({ url, headers: { ...(init.headers ?? {}) } });
    if (site.down) throw new TypeError('fetch failed');
    const { pathname, searchParams } = new URL(url);
    const [, , slug, kind, page] = pathname.split('/');
    if (slug !== 'shop') return json(404, { error: 'NotFound', message: `no site '${slug}'`, requestId: 'r' });
    if (kind === 'pages') {
      if (!site.pages[page]) return json(404, { error: 'NotFound', message: 'no page', requestId: 'r' });
      return json(200, site.pages[page], { ETag: tagOf(page) });
    }
    const names = Object.keys(site.pages).sort();
    const start = Number(searchParams.get('cursor') ?? 0);
    const part = names.slice(start, start + partSize);
    const next = start + partSize < names.length ? String(start + partSize) : null;
    const tag = siteTag(part);
    if (init.headers?.['If-None-Match'] === tag) return new Response(null, { status: 304, headers: { ETag: tag } });
    const entries =
      kind === 'manifest'
        ? part.map((name) => ({ page: name, version: site.pages[name].version, etag: tagOf(name), updatedAt: 'x' }))
        : part.map((name) => ({ page: name, etag: tagOf(name), config: site.pages[name] }));
    return json(200, { site: 'shop', pages: entries, nextCursor: next }, { ETag: tag });
  };
  return site;
}

const options = (site, extra = {}) => ({
  apiBase: API,
  site: 'shop',
  fetch: site.fetch,
  timeoutMs: 50,
  retryDelayMs: 1,
  ...extra,
});

test('the first call fetches the whole site in one request', async () => {
  const site = fakeSite({ home: config('home', 1), about: config('about', 2) });
  const bundle = await getSiteBundle(options(site));
  assert.equal(bundle.source, 'network');
  assert.equal(bundle.requests, 1);
  assert.deepEqual(site.calls.map((call) => call.url), ['http://api.test/sites/shop/bundle']);
  assert.deepEqual(Object.keys(bundle.pages).sort(), ['about', 'home']);
  assert.deepEqual(bundle.pages.home, { config: config('home', 1), etag: '"id-home.1"' });
  assert.equal(bundle.etag, '"set-about="id-about.2",home="id-home.1""');
});

test('an unchanged site costs one conditional request for the manifest, answered 304', async () => {
  const site = fakeSite({ home: config('home', 1) });
  const first = await getSiteBundle(options(site));
  site.calls.length = 0;
  // As a build keeps it between runs: written to disk as JSON, read back.
  const previous = JSON.parse(JSON.stringify(first));
  const again = await getSiteBundle(options(site, { previous }));
  assert.equal(again.source, 'unchanged');
  assert.equal(again.requests, 1);
  assert.deepEqual(site.calls, [{ url: siteManifestUrl(API, 'shop'), headers: { 'If-None-Match': first.etag } }]);
  assert.deepEqual(again.pages, first.pages);
  assert.deepEqual(again.fetched, []);
});

test('after a change only the pages whose ETag changed are fetched, and removed pages are dropped', async () => {
  const site = fakeSite({ home: config('home', 1), about: config('about', 1), old: config('old', 1) });
  const first = await getSiteBundle(options(site));
  site.pages.home = config('home', 2, 'new title');
  site.pages.sale = config('sale', 1);
  delete site.pages.old;
  site.calls.length = 0;
  const again = await getSiteBundle(options(site, { previous: first }));
  assert.equal(again.source, 'revalidated');
  assert.deepEqual(again.fetched.sort(), ['home', 'sale']);
  assert.deepEqual(
    site.calls.map((call) => call.url).sort(),
    [siteManifestUrl(API, 'shop'), `${API}/sites/shop/pages/home`, `${API}/sites/shop/pages/sale`].sort(),
  );
  assert.deepEqual(Object.keys(again.pages).sort(), ['about', 'home', 'sale']);
  assert.equal(again.pages.home.config.settings.title, 'new title');
  assert.equal(again.pages.home.etag, '"id-home.2"');
  assert.equal(again.pages.about, first.pages.about);
  // What it holds now is what the manifest names: the next call is a 304.
  site.calls.length = 0;
  assert.equal((await getSiteBundle(options(site, { previous: again }))).source, 'unchanged');
});

test('many changes fetch the whole bundle again instead of each page', async () => {
  const site = fakeSite({ a: config('a', 1), b: config('b', 1), c: config('c', 1) });
  const first = await getSiteBundle(options(site));
  for (const name of ['a', 'b', 'c']) site.pages[name] = config(name, 2);
  site.calls.length = 0;
  const again = await getSiteBundle(options(site, { previous: first, maxPageFetches: 2 }));
  assert.equal(again.source, 'network');
  assert.deepEqual(site.calls.map((call) => call.url), [siteManifestUrl(API, 'shop'), siteBundleUrl(API, 'shop')]);
  assert.equal(again.pages.c.config.version, 2);
});

test('a site over 1 MB is followed part by part, and then revalidated page by page', async () => {
  const site = fakeSite({ a: config('a', 1), b: config('b', 1), c: config('c', 1) }, { partSize: 2 });
  const first = await getSiteBundle(options(site));
  assert.deepEqual(Object.keys(first.pages).sort(), ['a', 'b', 'c']);
  assert.deepEqual(site.calls.map((call) => call.url), [siteBundleUrl(API, 'shop'), `${siteBundleUrl(API, 'shop')}?cursor=2`]);
  assert.equal(first.etag, null); // each part has its own
  site.calls.length = 0;
  const again = await getSiteBundle(options(site, { previous: first }));
  assert.equal(again.source, 'revalidated');
  assert.deepEqual(again.fetched, []);
  assert.deepEqual(site.calls.map((call) => call.headers), [{}, {}]); // no ETag to send for a whole site
});

test('an unknown site rejects as NotFound with the error body', async () => {
  const site = fakeSite({});
  await assert.rejects(getSiteBundle(options(site, { site: 'nowhere' })), (error) => {
    assert.ok(error instanceof RenderConfigError);
    assert.equal(error.code, 'NotFound');
    assert.equal(error.status, 404);
    assert.equal(error.body.error, 'NotFound');
    return true;
  });
});

test('an API that cannot be reached rejects as Unavailable after one retry', async () => {
  const site = fakeSite({ home: config('home', 1) });
  site.down = true;
  await assert.rejects(getSiteBundle(options(site)), (error) => error.code === 'Unavailable');
  assert.equal(site.calls.length, 2);
});

test('a 5xx is retried once, then the answer is used', async () => {
  const site = fakeSite({ home: config('home', 1) });
  const fetch = site.fetch;
  let failures = 1;
  site.fetch = async (url, init) => {
    if (failures-- > 0) return new Response('{}', { status: 503 });
    return fetch(url, init);
  };
  const bundle = await getSiteBundle(options(site));
  assert.equal(bundle.pages.home.config.version, 1);
});

test('the requests carry no credentials and bypass the HTTP cache (the client revalidates itself)', async () => {
  const seen = [];
  const site = fakeSite({ home: config('home', 1) });
  const fetch = site.fetch;
  await getSiteBundle(
    options(site, {
      fetch: (url, init) => {
        seen.push(init);
        return fetch(url, init);
      },
    }),
  );
  assert.equal(seen[0].credentials, 'omit');
  assert.equal(seen[0].cache, 'no-store');
  assert.equal(seen[0].method, 'GET');
});
