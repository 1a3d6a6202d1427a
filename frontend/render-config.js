// The render config of one page, fetched from Metadata Manager's public page route
// (`GET /sites/{site}/pages/{page}`), for browsers and anything else with `fetch`; and
// every page of a site at once (`getSiteBundle`), for static builds and server-side
// rendering. No dependencies; types are in render-config.d.ts.

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_RETRY_DELAY_MS = 300;
const STORAGE_PREFIX = 'metadata-manager:render-config:v1:';

/**
 * Why no config could be had. `code` is `NotFound` (the API answered 404: the page has
 * no config), `PreviewRefused` (a preview link that is unknown, expired, revoked or for
 * another page) or `Unavailable` (network error, timeout, 5xx or another unusable answer).
 */
export class RenderConfigError extends Error {
  /**
   * @param {'NotFound' | 'PreviewRefused' | 'Unavailable'} code
   * @param {string} message
   * @param {{ status?: number, body?: unknown, cause?: unknown }} [details]
   */
  constructor(code, message, { status, body, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RenderConfigError';
    this.code = code;
    this.status = status;
    this.body = body;
  }
}

/**
 * The page route's URL.
 * @param {string} apiBase
 * @param {string} site
 * @param {string} page
 * @returns {string}
 */
export function renderConfigUrl(apiBase, site, page) {
  return `${trimSlashes(apiBase)}/sites/${encodeURIComponent(site)}/pages/${encodeURIComponent(page)}`;
}

/**
 * The preview route's URL for a preview link's token: the page's draft (or the version
 * the link names).
 * @param {string} apiBase
 * @param {string} site
 * @param {string} page
 * @param {string} previewToken
 * @returns {string}
 */
export function previewUrl(apiBase, site, page, previewToken) {
  const path = `/preview/sites/${encodeURIComponent(site)}/pages/${encodeURIComponent(page)}`;
  return `${trimSlashes(apiBase)}${path}?token=${encodeURIComponent(previewToken)}`;
}

/**
 * The preview token a page was opened with (`?preview=<token>` in its address), or null.
 * A site passes it to `getRenderConfig` as `previewToken`; it is never stored.
 * @param {{ search: string }} [location]
 * @returns {string | null}
 */
export function previewTokenFrom(location = globalThis.location) {
  try {
    const token = new URLSearchParams(location?.search ?? '').get('preview');
    return token && token.startsWith('mmp_') ? token : null;
  } catch {
    return null;
  }
}

/**
 * Fetches a page's render config. Resolves `{ config, source: 'network' }`, or, when the
 * API cannot be reached or keeps failing, `{ config, source: 'fallback', savedAt, error }`
 * with the last good config this browser kept for the same (apiBase, site, page).
 * Rejects with a `RenderConfigError`: `NotFound` when the API says the page has no
 * config, `Unavailable` when it is down and nothing was kept.
 *
 * @param {import('./render-config.js').GetRenderConfigOptions} options
 * @returns {Promise<import('./render-config.js').RenderConfigResult>}
 */
export async function getRenderConfig({
  apiBase,
  site,
  page,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  retryDelayMs = DEFAULT_RETRY_DELAY_MS,
  // 'no-cache': the browser keeps the answer in its HTTP cache but asks the API every
  // time, with the ETag it holds (If-None-Match, added by the browser itself): an
  // unchanged config costs a bodiless 304, a changed one shows on the very next page
  // view. The site's `cacheMaxAge` then governs the shared caches in front of the API
  // (a CDN), which is where the load is. The browser also sends `Cache-Control:
  // max-age=0` in this mode (its own header: still no preflight); a shared cache set to
  // honour viewers' Cache-Control would pass every request on. Pass 'default' to let the
  // browser reuse an answer for max-age seconds without asking (then serve it stale
  // while revalidating): fewer requests, but an edit shows up to max-age + one view late.
  cache = 'no-cache',
  fetch: fetchImpl = (input, init) => globalThis.fetch(input, init),
  storage = defaultStorage(),
  previewToken = null,
}) {
  if (previewToken) {
    return getPreview(fetchImpl, previewUrl(apiBase, site, page, previewToken), timeoutMs);
  }
  const url = renderConfigUrl(apiBase, site, page);
  const key = STORAGE_PREFIX + JSON.stringify([trimSlashes(apiBase), site, page]);

  let outcome = await attempt(fetchImpl, url, cache, timeoutMs);
  if (outcome.retry) {
    // One retry, after a jittered pause so that many open tabs do not come back in step.
    await sleep(retryDelayMs * (0.5 + Math.random()));
    outcome = await attempt(fetchImpl, url, cache, timeoutMs);
  }

  if (outcome.config) {
    remember(storage, key, outcome.config);
    return { config: outcome.config, source: 'network' };
  }
  if (outcome.error.code === 'NotFound') {
    // A 404 is the API's answer, not an outage: the page has no config (never had one,
    // or it was deleted). The kept copy is dropped, so that a later outage does not
    // bring a deleted page back; the site renders its own not-found.
    forget(storage, key);
    throw outcome.error;
  }
  const kept = recall(storage, key);
  if (kept) {
    return { config: kept.config, source: 'fallback', savedAt: kept.savedAt, error: outcome.error };
  }
  throw outcome.error;
}

/**
 * Preview mode: the draft, never from a cache and never kept (a preview must not stand
 * in for the published page later), and no retry: an editor sees a failure at once.
 * @param {import('./render-config.js').FetchLike} fetchImpl
 * @param {string} url
 * @param {number} timeoutMs
 * @returns {Promise<import('./render-config.js').RenderConfigResult>}
 */
async function getPreview(fetchImpl, url, timeoutMs) {
  const outcome = await attempt(fetchImpl, url, 'no-store', timeoutMs);
  if (outcome.config) {
    return { config: outcome.config, source: 'preview' };
  }
  throw outcome.error;
}

/**
 * @typedef {import('./render-config.js').RenderConfig} RenderConfig
 * @typedef {import('./render-config.js').RenderConfigStorage} RenderConfigStorage
 * @typedef {{ config: RenderConfig, retry?: undefined, error?: undefined }
 *   | { config?: undefined, retry: boolean, error: RenderConfigError }} Outcome
 */

/**
 * One request. `retry` is set for what may pass on a second try: a network error, a
 * timeout, 408, 429 or a 5xx. Other answers are final.
 * @param {import('./render-config.js').FetchLike} fetchImpl
 * @param {string} url
 * @param {RequestCache} cache
 * @param {number} timeoutMs
 * @returns {Promise<Outcome>}
 */
async function attempt(fetchImpl, url, cache, timeoutMs) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    // A simple GET: no headers of our own, so no CORS preflight (a custom header, or a
    // Content-Type, would cost an OPTIONS round trip before every request). No
    // credentials: the route is public and never grants them.
    const response = await fetchImpl(url, {
      method: 'GET',
      mode: 'cors',
      credentials: 'omit',
      cache,
      signal: controller.signal,
    });
    const body = await readJson(response); // still under the timeout
    if (response.ok && isRenderConfig(body)) {
      return { config: body };
    }
    if (response.ok) {
      return failed(false, `${url} answered ${response.status} without a render config`, { status: response.status });
    }
    if (response.status === 401 || response.status === 403) {
      const message = (isObject(body) && typeof body.message === 'string' && body.message) || 'preview refused';
      return { retry: false, error: new RenderConfigError('PreviewRefused', message, { status: response.status, body }) };
    }
    if (response.status === 404) {
      const message = (isObject(body) && typeof body.message === 'string' && body.message) || 'no such page';
      return { retry: false, error: new RenderConfigError('NotFound', message, { status: 404, body }) };
    }
    const transient = response.status >= 500 || response.status === 408 || response.status === 429;
    return failed(transient, `${url} answered ${response.status}`, { status: response.status, body });
  } catch (cause) {
    // fetch rejects on network errors, and on CORS refusals, which look the same to a page.
    const what = timedOut ? `no answer from ${url} within ${timeoutMs} ms` : `${url} could not be fetched`;
    return failed(true, what, { cause });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @param {boolean} retry
 * @param {string} message
 * @param {{ status?: number, body?: unknown, cause?: unknown }} details
 * @returns {Outcome}
 */
function failed(retry, message, details) {
  return { retry, error: new RenderConfigError('Unavailable', message, details) };
}

/** @param {Response} response */
async function readJson(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * @param {unknown} value
 * @returns {value is RenderConfig}
 */
function isRenderConfig(value) {
  return (
    isObject(value) &&
    typeof value.site === 'string' &&
    typeof value.page === 'string' &&
    typeof value.layout === 'string' &&
    typeof value.theme === 'string' &&
    isObject(value.settings) &&
    typeof value.version === 'number'
  );
}

// Storage is best effort: it may be missing (Node, some embedded views), disabled
// (reading `localStorage` throws), or full (`setItem` throws). None of that may break
// the page, so every access is guarded.

/** @returns {RenderConfigStorage | null} */
function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * @param {RenderConfigStorage | null} storage
 * @param {string} key
 * @param {RenderConfig} config
 */
function remember(storage, key, config) {
  try {
    storage?.setItem(key, JSON.stringify({ config, savedAt: new Date().toISOString() }));
  } catch {
    // Full or disabled: the page still renders from the network answer.
  }
}

/**
 * @param {RenderConfigStorage | null} storage
 * @param {string} key
 * @returns {{ config: RenderConfig, savedAt: string } | null}
 */
function recall(storage, key) {
  try {
    const kept = JSON.parse(storage?.getItem(key) ?? 'null');
    if (!isObject(kept) || !isRenderConfig(kept.config) || typeof kept.savedAt !== 'string') return null;
    return { config: kept.config, savedAt: kept.savedAt };
  } catch {
    return null;
  }
}

/**
 * @param {RenderConfigStorage | null} storage
 * @param {string} key
 */
function forget(storage, key) {
  try {
    storage?.removeItem(key);
  } catch {
    // Best effort, like the rest of storage.
  }
}

/** @param {string} apiBase */
function trimSlashes(apiBase) {
  return String(apiBase).replace(/\/+$/, '');
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- a whole site at once: the bundle, revalidated with the manifest -------------------

const DEFAULT_MAX_PAGE_FETCHES = 20;

/** The bundle's URL (`GET /sites/{site}/bundle`): every page the site serves. */
export function siteBundleUrl(apiBase, site) {
  return `${trimSlashes(apiBase)}/sites/${encodeURIComponent(site)}/bundle`;
}

/** The manifest's URL (`GET /sites/{site}/manifest`): each page's version and ETag. */
export function siteManifestUrl(apiBase, site) {
  return `${trimSlashes(apiBase)}/sites/${encodeURIComponent(site)}/manifest`;
}

/**
 * Every page a site serves, for static builds and server-side rendering: one request for
 * the whole site (the bundle; its parts followed when the site is over 1 MB).
 *
 * Given what an earlier call resolved (`previous`, which may have been written to disk
 * as JSON in between), it revalidates with the manifest instead: a `304` when nothing
 * the site serves changed (that one request, no body), else only the pages whose ETag
 * changed are fetched from the page route (the whole bundle again when more than
 * `maxPageFetches` did). Pages the site no longer serves are dropped.
 *
 * Resolves `{ site, etag, pages: { [page]: { config, etag } }, source, fetched, requests }`:
 * `source` is `'network'` (the whole bundle), `'revalidated'` (some pages fetched) or
 * `'unchanged'`. Rejects with a `RenderConfigError`: `NotFound` for an unknown site,
 * `Unavailable` when the API cannot be reached (after one retry per request).
 *
 * @param {import('./render-config.js').GetSiteBundleOptions} options
 * @returns {Promise<import('./render-config.js').SiteBundle>}
 */
export async function getSiteBundle({
  apiBase,
  site,
  previous = null,
  maxPageFetches = DEFAULT_MAX_PAGE_FETCHES,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  retryDelayMs = DEFAULT_RETRY_DELAY_MS,
  fetch: fetchImpl = (input, init) => globalThis.fetch(input, init),
}) {
  let requests = 0;
  /** @type {(url: string, headers?: Record<string, string>) => Promise<JsonAnswer>} */
  const get = (url, headers = {}) => {
    requests += 1;
    return getJson(fetchImpl, url, headers, timeoutMs, retryDelayMs);
  };
  if (!previous || previous.site !== site || !isObject(previous.pages)) {
    return { ...(await wholeBundle(get, apiBase, site)), source: 'network', requests };
  }

  // The ETag covers the whole site only when it came in one part (else it is null).
  const first = await get(siteManifestUrl(apiBase, site), previous.etag ? { 'If-None-Match': previous.etag } : {});
  if (first.status === 304) {
    return { ...previous, source: 'unchanged', fetched: [], requests };
  }
  const { entries, etag } = await allParts(get, siteManifestUrl(apiBase, site), first, 'manifest');
  const changed = entries.filter((entry) => previous.pages[entry.page]?.etag !== entry.etag);
  if (changed.length > maxPageFetches) {
    return { ...(await wholeBundle(get, apiBase, site)), source: 'network', requests };
  }
  /** @type {Record<string, { config: RenderConfig, etag: string }>} */
  const pages = {};
  for (const entry of entries) {
    if (previous.pages[entry.page]?.etag === entry.etag) pages[entry.page] = previous.pages[entry.page];
  }
  const fetched = [];
  for (const entry of changed) {
    const answer = await get(renderConfigUrl(apiBase, site, entry.page));
    if (answer.status === 404) continue; // taken off the site since the manifest was read
    if (answer.status !== 200 || !isRenderConfig(answer.body)) {
      throw unusable(answer, renderConfigUrl(apiBase, site, entry.page));
    }
    pages[entry.page] = { config: answer.body, etag: answer.etag ?? entry.etag };
    fetched.push(entry.page);
  }
  return { site, etag, pages, source: 'revalidated', fetched, requests };
}

/**
 * @param {(url: string, headers?: Record<string, string>) => Promise<JsonAnswer>} get
 * @param {string} apiBase
 * @param {string} site
 */
async function wholeBundle(get, apiBase, site) {
  const url = siteBundleUrl(apiBase, site);
  const { entries, etag } = await allParts(get, url, await get(url), 'bundle');
  /** @type {Record<string, { config: RenderConfig, etag: string }>} */
  const pages = {};
  for (const entry of entries) {
    if (!isRenderConfig(entry.config)) throw new RenderConfigError('Unavailable', `${url} answered a page without a render config`);
    pages[entry.page] = { config: entry.config, etag: entry.etag };
  }
  return { site, etag, pages, fetched: Object.keys(pages) };
}

/**
 * The entries of every part of a manifest or a bundle, from its first answer on. The
 * ETag is the first part's when it is the only one, else null (each part has its own).
 * @param {(url: string, headers?: Record<string, string>) => Promise<JsonAnswer>} get
 * @param {string} url
 * @param {JsonAnswer} answer
 * @param {string} what
 */
async function allParts(get, url, answer, what) {
  const entries = [];
  let parts = 0;
  for (;;) {
    parts += 1;
    if (answer.status === 404) {
      const message = (isObject(answer.body) && typeof answer.body.message === 'string' && answer.body.message) || 'no such site';
      throw new RenderConfigError('NotFound', message, { status: 404, body: answer.body });
    }
    if (answer.status !== 200 || !isObject(answer.body) || !Array.isArray(answer.body.pages)) {
      throw unusable(answer, url);
    }
    for (const entry of answer.body.pages) {
      if (!isObject(entry) || typeof entry.page !== 'string' || typeof entry.etag !== 'string') {
        throw new RenderConfigError('Unavailable', `${url} answered a ${what} entry without a page and an ETag`);
      }
      entries.push(entry);
    }
    const cursor = answer.body.nextCursor;
    if (typeof cursor !== 'string' || !cursor) break;
    answer = await get(`${url}?cursor=${encodeURIComponent(cursor)}`);
  }
  return { entries, etag: parts === 1 ? answer.etag : null };
}

/**
 * @typedef {{ status: number, body: unknown, etag: string | null }} JsonAnswer
 */

/**
 * One GET of a JSON answer (and a 304's nothing), with one retry after a jittered pause
 * for what may pass on a second try. No HTTP cache: the caller revalidates itself.
 * @param {import('./render-config.js').FetchLike} fetchImpl
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {number} timeoutMs
 * @param {number} retryDelayMs
 * @returns {Promise<JsonAnswer>}
 */
async function getJson(fetchImpl, url, headers, timeoutMs, retryDelayMs) {
  let last;
  for (let attemptNumber = 0; attemptNumber < 2; attemptNumber += 1) {
    if (attemptNumber) await sleep(retryDelayMs * (0.5 + Math.random()));
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetchImpl(url, {
        method: 'GET',
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        headers,
        signal: controller.signal,
      });
      const body = response.status === 304 ? undefined : await readJson(response);
      last = { status: response.status, body, etag: response.headers.get('ETag') };
      const transient = response.status >= 500 || response.status === 408 || response.status === 429;
      if (!transient) return last;
    } catch (cause) {
      const what = timedOut ? `no answer from ${url} within ${timeoutMs} ms` : `${url} could not be fetched`;
      last = new RenderConfigError('Unavailable', what, { cause });
    } finally {
      clearTimeout(timer);
    }
  }
  if (last instanceof RenderConfigError) throw last;
  throw unusable(last, url);
}

/**
 * @param {JsonAnswer} answer
 * @param {string} url
 */
function unusable(answer, url) {
  return new RenderConfigError('Unavailable', `${url} answered ${answer.status}`, { status: answer.status, body: answer.body });
}
