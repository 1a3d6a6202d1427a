// Unit tests of the render-config client, with a fake fetch and a fake storage:
// `node --test frontend/*.test.js`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { getRenderConfig, previewTokenFrom, previewUrl, RenderConfigError, renderConfigUrl } from './render-config.js';

const API = 'http://api.test';
const CONFIG = {
  site: 'shop',
  page: 'home',
  layout: 'hero',
  theme: 'dark',
  settings: { hero: { title: 'Winter sale' } },
  version: 3,
  updatedAt: '2026-01-01T00:00:00Z',
};
const OLD_CONFIG = { ...CONFIG, layout: 'single', version: 2 };

/** A fetch that answers from a list of steps, one per call, and records each call. */
function fakeFetch(...steps) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const step = steps[Math.min(calls.length, steps.length) - 1];
    return step(init);
  };
  return Object.assign(fetch, { calls });
}

const answer = (status, body) => () =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
const networkError = () => () => Promise.reject(new TypeError('Failed to fetch'));
// Never answers; rejects as fetch does when the request's signal aborts.
const hang = () => (init) =>
  new Promise((_, reject) => {
    init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });

function fakeStorage(entries = {}) {
  const map = new Map(Object.entries(entries));
  return {
    map,
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => void map.set(key, String(value)),
    removeItem: (key) => void map.delete(key),
  };
}

/** A storage that already keeps `config` for (API, shop, home), as a past visit left it. */
async function storageKeeping(config) {
  const storage = fakeStorage();
  await getRenderConfig({ apiBase: API, site: 'shop', page: 'home', storage, fetch: fakeFetch(answer(200, config)) });
  return storage;
}

const options = (fetch, storage, extra = {}) => ({
  apiBase: API,
  site: 'shop',
  page: 'home',
  fetch,
  storage,
  timeoutMs: 50,
  retryDelayMs: 1,
  ...extra,
});

test('resolves with the config from the network and keeps it', async () => {
  const storage = fakeStorage();
  const fetch = fakeFetch(answer(200, CONFIG));
  const result = await getRenderConfig(options(fetch, storage));
  assert.deepEqual(result, { config: CONFIG, source: 'network' });
  assert.equal(fetch.calls.length, 1);
  assert.equal(fetch.calls[0].url, 'http://api.test/sites/shop/pages/home');
  const [kept] = [...storage.map.values()].map((value) => JSON.parse(value));
  assert.deepEqual(kept.config, CONFIG);
  assert.ok(!Number.isNaN(Date.parse(kept.savedAt)));
});

test('sends a simple GET: no headers of its own, so browsers need no preflight', async () => {
  const fetch = fakeFetch(answer(200, CONFIG));
  await getRenderConfig(options(fetch, null));
  const { init } = fetch.calls[0];
  assert.equal(init.method, 'GET');
  assert.equal(init.headers, undefined);
  assert.equal(init.body, undefined);
  assert.equal(init.credentials, 'omit');
  assert.equal(init.cache, 'no-cache'); // the browser revalidates with If-None-Match itself
  assert.ok(init.signal instanceof AbortSignal);
});

test('the cache mode can be chosen', async () => {
  const fetch = fakeFetch(answer(200, CONFIG));
  await getRenderConfig(options(fetch, null, { cache: 'default' }));
  assert.equal(fetch.calls[0].init.cache, 'default');
});

test('builds the URL from a base with or without a trailing slash, and encodes the slugs', () => {
  assert.equal(renderConfigUrl('https://api.example/v1/', 'shop', 'a b'), 'https://api.example/v1/sites/shop/pages/a%20b');
  assert.equal(renderConfigUrl('https://api.example/v1', 'shop', 'home'), 'https://api.example/v1/sites/shop/pages/home');
});

test('retries once after a 5xx', async () => {
  const fetch = fakeFetch(answer(503, { error: 'ServiceUnavailable' }), answer(200, CONFIG));
  const result = await getRenderConfig(options(fetch, fakeStorage()));
  assert.equal(result.source, 'network');
  assert.equal(fetch.calls.length, 2);
});

test('retries once after a network error', async () => {
  const fetch = fakeFetch(networkError(), answer(200, CONFIG));
  const result = await getRenderConfig(options(fetch, fakeStorage()));
  assert.deepEqual(result, { config: CONFIG, source: 'network' });
  assert.equal(fetch.calls.length, 2);
});

test('waits before the retry', async () => {
  const fetch = fakeFetch(networkError(), answer(200, CONFIG));
  const started = performance.now();
  await getRenderConfig(options(fetch, null, { retryDelayMs: 100 }));
  assert.ok(performance.now() - started >= 45, 'at least half the delay (the jitter is ±50%)');
});

test('gives up on a request that takes longer than the timeout, and retries it once', async () => {
  const fetch = fakeFetch(hang());
  const started = performance.now();
  await assert.rejects(getRenderConfig(options(fetch, fakeStorage(), { timeoutMs: 40 })), (error) => {
    assert.ok(error instanceof RenderConfigError);
    assert.equal(error.code, 'Unavailable');
    assert.match(error.message, /within 40 ms/);
    return true;
  });
  assert.equal(fetch.calls.length, 2);
  assert.ok(fetch.calls.every(({ init }) => init.signal.aborted));
  assert.ok(performance.now() - started < 1000);
});

test('falls back to the last good config when the API stays down, and says so', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  const fetch = fakeFetch(networkError());
  const result = await getRenderConfig(options(fetch, storage));
  assert.equal(result.source, 'fallback');
  assert.deepEqual(result.config, OLD_CONFIG);
  assert.ok(!Number.isNaN(Date.parse(result.savedAt)));
  assert.ok(result.error instanceof RenderConfigError);
  assert.equal(result.error.code, 'Unavailable');
  assert.ok(result.error.cause instanceof TypeError);
  assert.equal(fetch.calls.length, 2);
});

test('falls back after a timeout and after a 5xx too', async () => {
  for (const step of [hang(), answer(500, { error: 'InternalError' })]) {
    const storage = await storageKeeping(OLD_CONFIG);
    const result = await getRenderConfig(options(fakeFetch(step), storage));
    assert.equal(result.source, 'fallback');
    assert.deepEqual(result.config, OLD_CONFIG);
  }
});

test('a newer answer replaces the kept copy', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  await getRenderConfig(options(fakeFetch(answer(200, CONFIG)), storage));
  const result = await getRenderConfig(options(fakeFetch(networkError()), storage));
  assert.deepEqual(result.config, CONFIG);
});

test('rejects as Unavailable when the API is down and nothing was kept', async () => {
  const fetch = fakeFetch(answer(502, 'Bad Gateway'));
  await assert.rejects(getRenderConfig(options(fetch, fakeStorage())), {
    name: 'RenderConfigError',
    code: 'Unavailable',
    status: 502,
  });
  assert.equal(fetch.calls.length, 2);
});

test('a copy kept for another page, site or API is never used', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  for (const other of [{ page: 'about' }, { site: 'blog' }, { apiBase: 'http://other.test' }]) {
    await assert.rejects(getRenderConfig(options(fakeFetch(networkError()), storage, other)), {
      code: 'Unavailable',
    });
  }
});

test('a 404 rejects as NotFound at once, with the error body, and drops the kept copy', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  const body = { error: 'NotFound', message: "site 'shop' has no page 'home'", requestId: 'r-1' };
  const fetch = fakeFetch(answer(404, body));
  await assert.rejects(getRenderConfig(options(fetch, storage)), (error) => {
    assert.ok(error instanceof RenderConfigError);
    assert.equal(error.code, 'NotFound');
    assert.equal(error.status, 404);
    assert.equal(error.message, "site 'shop' has no page 'home'");
    assert.deepEqual(error.body, body);
    return true;
  });
  assert.equal(fetch.calls.length, 1); // a 404 is an answer, not an outage: no retry
  assert.equal(storage.map.size, 0);
  // The page is gone: a later outage does not bring it back.
  await assert.rejects(getRenderConfig(options(fakeFetch(networkError()), storage)), { code: 'Unavailable' });
});

test('another 4xx is not retried, but the kept copy is still served', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  const fetch = fakeFetch(answer(403, { message: 'Forbidden' }));
  const result = await getRenderConfig(options(fetch, storage));
  assert.equal(fetch.calls.length, 1);
  assert.equal(result.source, 'fallback');
  assert.equal(result.error.status, 403);
});

test('a 200 that is not a render config is not used, nor kept', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  for (const body of ['<html>captive portal</html>', { layout: 'hero' }]) {
    const fetch = fakeFetch(answer(200, body));
    const result = await getRenderConfig(options(fetch, storage));
    assert.equal(fetch.calls.length, 1);
    assert.equal(result.source, 'fallback');
    assert.deepEqual(result.config, OLD_CONFIG);
  }
});

test('a storage that throws does not break the page', async () => {
  const broken = {
    getItem() {
      throw new DOMException('denied', 'SecurityError');
    },
    setItem() {
      throw new DOMException('full', 'QuotaExceededError');
    },
    removeItem() {
      throw new DOMException('denied', 'SecurityError');
    },
  };
  assert.equal((await getRenderConfig(options(fakeFetch(answer(200, CONFIG)), broken))).source, 'network');
  await assert.rejects(getRenderConfig(options(fakeFetch(networkError()), broken)), { code: 'Unavailable' });
  await assert.rejects(getRenderConfig(options(fakeFetch(answer(404, {})), broken)), { code: 'NotFound' });
});

test('a kept copy that is not valid JSON is ignored', async () => {
  const storage = await storageKeeping(OLD_CONFIG);
  for (const key of storage.map.keys()) storage.map.set(key, '{not json');
  await assert.rejects(getRenderConfig(options(fakeFetch(networkError()), storage)), { code: 'Unavailable' });
});

test('without localStorage (as in Node) nothing is kept and the network answer is used', async () => {
  assert.equal(globalThis.localStorage, undefined);
  const { storage: _none, ...withoutStorage } = options(fakeFetch(answer(200, CONFIG)), undefined);
  assert.equal((await getRenderConfig(withoutStorage)).source, 'network');
});


// --- preview mode ----------------------------------------------------------------------

const DRAFT = { ...CONFIG, settings: { hero: { title: 'Spring sale' } }, version: 4 };

test('a preview token fetches the draft from the preview route, uncached and unkept', async () => {
  const storage = await storageKeeping(CONFIG);
  const kept = new Map(storage.map);
  const fetch = fakeFetch(answer(200, DRAFT));

  const result = await getRenderConfig({ apiBase: API, site: 'shop', page: 'home', storage, fetch, previewToken: 'mmp_a/b' });

  assert.deepEqual(result, { config: DRAFT, source: 'preview' });
  assert.equal(fetch.calls[0].url, 'http://api.test/preview/sites/shop/pages/home?token=mmp_a%2Fb');
  assert.equal(fetch.calls[0].init.cache, 'no-store');
  assert.deepEqual(storage.map, kept, 'a preview never replaces the kept published config');
});

test('a refused preview link is PreviewRefused at once, never a kept copy', async () => {
  const storage = await storageKeeping(CONFIG);
  const fetch = fakeFetch(answer(401, { error: 'Unauthorized', message: 'this preview link is unknown, expired or revoked' }));

  await assert.rejects(
    getRenderConfig({ apiBase: API, site: 'shop', page: 'home', storage, fetch, previewToken: 'mmp_old' }),
    (error) => error instanceof RenderConfigError && error.code === 'PreviewRefused' && /expired/.test(error.message),
  );
  assert.equal(fetch.calls.length, 1);
});

test('a preview that cannot be fetched fails without a fallback', async () => {
  const storage = await storageKeeping(CONFIG);
  await assert.rejects(
    getRenderConfig({ apiBase: API, site: 'shop', page: 'home', storage, fetch: fakeFetch(answer(503, {})), previewToken: 'mmp_x' }),
    (error) => error.code === 'Unavailable',
  );
});

test('the preview token comes from ?preview= and only when it is one', () => {
  assert.equal(previewTokenFrom({ search: '?preview=mmp_abc&x=1' }), 'mmp_abc');
  assert.equal(previewTokenFrom({ search: '?preview=abc' }), null);
  assert.equal(previewTokenFrom({ search: '' }), null);
  assert.equal(previewTokenFrom(undefined), null);
  assert.equal(previewUrl('http://api.test/', 'a b', 'p', 't'), 'http://api.test/preview/sites/a%20b/pages/p?token=t');
});
