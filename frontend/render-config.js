// The render config of one page, fetched from Metadata Manager's public page route
// (`GET /sites/{site}/pages/{page}`), for browsers and anything else with `fetch`.
// No dependencies; types are in render-config.d.ts.

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
