// Types of render-config.js: the client of Metadata Manager's public page route.

/** The page route's answer: what a page renders with. */
export interface RenderConfig {
  site: string;
  page: string;
  /** The name of a layout template in the site's code. */
  layout: string;
  /** The name of a theme in the site's code. */
  theme: string;
  /** Any JSON object the site's templates read. */
  settings: Record<string, unknown>;
  /** Grows by one with every change of the config. */
  version: number;
  /** ISO 8601. */
  updatedAt: string;
}

/** Where a result came from: the API, the copy kept from the last good answer, or a preview. */
export type RenderConfigSource = 'network' | 'fallback' | 'preview';

export type RenderConfigResult =
  | { config: RenderConfig; source: 'network' }
  /** The draft (or a version) a preview link shows: never cached, never kept. */
  | { config: RenderConfig; source: 'preview' }
  | {
      config: RenderConfig;
      source: 'fallback';
      /** When the kept copy was fetched (ISO 8601). */
      savedAt: string;
      /** Why the API's answer could not be used. */
      error: RenderConfigError;
    };

/** What `getRenderConfig` keeps its copies in: `localStorage`, or anything like it. */
export interface RenderConfigStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A `fetch`: the global one by default; tests and SSR pass their own. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface GetRenderConfigOptions {
  /** The API's base URL, e.g. `https://api.example.com` or `http://127.0.0.1:8000`. */
  apiBase: string;
  /** The site's slug. */
  site: string;
  /** The page's slug. */
  page: string;
  /** How long one attempt may take, body included. Default 3000. There are at most two attempts. */
  timeoutMs?: number;
  /** The pause before the one retry, jittered by ±50%. Default 300. */
  retryDelayMs?: number;
  /**
   * The request's cache mode. Default `'no-cache'`: the browser revalidates its cached
   * answer on every call (a 304 when unchanged), so an edit shows on the next page view.
   * `'default'` reuses the answer for the site's `cacheMaxAge` without asking.
   */
  cache?: RequestCache;
  fetch?: FetchLike;
  /** Where the last good config is kept. Default `localStorage` when there is one; `null` keeps nothing. */
  storage?: RenderConfigStorage | null;
  /**
   * A preview link's token (`previewTokenFrom(location)`): fetch the page's draft from the
   * preview route instead, with `cache: 'no-store'`, and keep nothing. Never store the token.
   */
  previewToken?: string | null;
}

export type RenderConfigErrorCode =
  /** The API answered 404: the page has no config. A kept copy is dropped, never served. */
  | 'NotFound'
  /** A preview link that is unknown, expired, revoked or for another page (401 or 403). */
  | 'PreviewRefused'
  /** Network error, timeout, 5xx or another unusable answer, after the retry, and no kept copy. */
  | 'Unavailable';

export class RenderConfigError extends Error {
  constructor(code: RenderConfigErrorCode, message: string, details?: { status?: number; body?: unknown; cause?: unknown });
  /** `'RenderConfigError'` */
  readonly name: string;
  readonly code: RenderConfigErrorCode;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  /** The answer's JSON body, when there was one (the API's error body on a 404). */
  readonly body?: unknown;
}

/** `${apiBase}/sites/${site}/pages/${page}`, with the slugs encoded. */
export function renderConfigUrl(apiBase: string, site: string, page: string): string;

/** `${apiBase}/preview/sites/${site}/pages/${page}?token=…`, encoded. */
export function previewUrl(apiBase: string, site: string, page: string, previewToken: string): string;

/** The `?preview=` token of a page's address (`mmp_…`), or null. */
export function previewTokenFrom(location?: { search: string }): string | null;

/**
 * The render config of one page. Resolves with `source: 'network'`, or with
 * `source: 'fallback'` and the last good config kept for (apiBase, site, page) when the
 * API is down (network error, timeout, 5xx after one retry). Rejects with a
 * `RenderConfigError`: `NotFound` on a 404, `Unavailable` when down and nothing is kept.
 */
export function getRenderConfig(options: GetRenderConfigOptions): Promise<RenderConfigResult>;

/** A page of a site, as `getSiteBundle` holds it: its render config and that answer's ETag. */
export interface BundledPage {
  config: RenderConfig;
  /** The page route's ETag for this config (`"<id>.<version>"`). */
  etag: string;
}

/** Every page a site serves, by page. Plain JSON: write it to disk, pass it back as `previous`. */
export interface SiteBundle {
  site: string;
  /** The manifest's ETag (the bundle's too); null when the site came in several parts (over 1 MB). */
  etag: string | null;
  pages: Record<string, BundledPage>;
  /**
   * `'network'`: the whole bundle was fetched; `'revalidated'`: the manifest named changes,
   * and only those pages were fetched; `'unchanged'`: the manifest answered 304.
   */
  source: 'network' | 'revalidated' | 'unchanged';
  /** The pages this call fetched. */
  fetched: string[];
  /** The requests this call made (retries not counted). */
  requests: number;
}

export interface GetSiteBundleOptions {
  /** The API's base URL, e.g. `https://api.example.com` or `http://127.0.0.1:8000`. */
  apiBase: string;
  /** The site's slug. */
  site: string;
  /** What an earlier call resolved: revalidate it with the manifest instead of fetching everything. */
  previous?: SiteBundle | null;
  /** More changed pages than this, and the whole bundle is fetched again instead of each. Default 20. */
  maxPageFetches?: number;
  /** How long one request may take, body included. Default 3000. Each request is tried at most twice. */
  timeoutMs?: number;
  /** The pause before a retry, jittered by ±50%. Default 300. */
  retryDelayMs?: number;
  fetch?: FetchLike;
}

/** `${apiBase}/sites/${site}/bundle`, encoded. */
export function siteBundleUrl(apiBase: string, site: string): string;

/** `${apiBase}/sites/${site}/manifest`, encoded. */
export function siteManifestUrl(apiBase: string, site: string): string;

/**
 * Every page a site serves: the bundle (its parts followed past 1 MB); with `previous`,
 * revalidated with the manifest's ETags (a 304 when nothing changed; else only the pages
 * that changed). Rejects with a `RenderConfigError`: `NotFound` for an unknown site,
 * `Unavailable` when the API cannot be reached.
 */
export function getSiteBundle(options: GetSiteBundleOptions): Promise<SiteBundle>;
