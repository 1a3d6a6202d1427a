// What a client written against the types openapi-typescript makes of /openapi.json
// (default settings) can and cannot do, checked by `tsc --strict` in
// tests/test_openapi_clients.py. Each `@ts-expect-error` is a mistake the types must
// refuse: if they stop refusing it, tsc fails on the unused directive.

import type { components, paths } from 'metadata-manager-api';
import type { RenderConfig } from '../../frontend/render-config.js';

type Json<Answer> = Answer extends { content: { 'application/json': infer Body } } ? Body : never;

// --- creating a site with only a name: every other field has a default -----------------

type SiteInput = paths['/sites/{site}']['put']['requestBody']['content']['application/json'];
export const shop: SiteInput = { name: 'The Shop' };
export const strict: SiteInput = { name: 'The Shop', cacheMaxAge: 120, publishMode: 'review' };
// @ts-expect-error a site needs a name
export const nameless: SiteInput = { cacheMaxAge: 120 };
// @ts-expect-error publishMode is "direct" or "review"
export const mistyped: SiteInput = { name: 'The Shop', publishMode: 'draft' };

// What the answer promises: the operation to follow, at `Location`.
type PutSite = paths['/sites/{site}']['put']['responses'];
export function follow(answer: Json<PutSite[202]>, headers: PutSite[202]['headers']): string {
  return `${answer.operationId} at ${headers.Location} (request ${headers['X-Request-Id']})`;
}

// --- reading an operation that has no version yet ----------------------------------------

type Operation = Json<paths['/operations/{operation_id}']['get']['responses'][200]>;
export function outcome(operation: Operation): string {
  // @ts-expect-error version is absent until the operation has succeeded
  const unchecked: number = operation.version;
  // @ts-expect-error so is completedAt, while it is pending
  const finished: string = operation.completedAt;
  if (operation.status === 'failed' && operation.error !== undefined) {
    const code: components['schemas']['OperationError']['code'] = operation.error.code;
    // @ts-expect-error failure codes are a known set
    const unknown: typeof code = 'SomethingElse';
    return `${code}: ${operation.error.message} ${unchecked} ${finished} ${unknown}`;
  }
  return operation.version === undefined ? operation.status : `version ${operation.version}`;
}

export const pending: Operation = { operationId: '01j', status: 'pending' };

// A deleted version has no content.
type Version = components['schemas']['ConfigVersion'];
export function layoutOf(version: Version): string {
  // @ts-expect-error layout is absent from a deletion
  const layout: string = version.layout;
  return version.deleted ? `deleted (${layout})` : (version.layout ?? '');
}

// --- reading a page without a CORS grant ---------------------------------------------------

type PageAnswers = paths['/sites/{site}/pages/{page}']['get']['responses'];
export const ungranted: PageAnswers[200]['headers'] = {
  'X-Request-Id': 'r-1',
  ETag: '"abc.1"',
  'Cache-Control': 'public, max-age=60',
  Vary: 'Origin',
};
export function grantedTo(headers: PageAnswers[200]['headers']): string {
  // @ts-expect-error the grant is there only for the site's own origins
  const origin: string = headers['Access-Control-Allow-Origin'];
  return headers['Access-Control-Allow-Origin'] ?? `no grant (${origin})`;
}

// The JavaScript client's own types (frontend/render-config.d.ts) describe the same answer.
type Page = Json<PageAnswers[200]>;
export const fromClient = (config: RenderConfig): Page => config;
export const toClient = (page: Page): RenderConfig => page;

// --- errors: a code to branch on, on every status, and on the `default` answer --------------

type ErrorBody = components['schemas']['ErrorBody'];
export function retryable(error: ErrorBody): boolean {
  // @ts-expect-error error codes are a known set
  const unknown: ErrorBody['error'] = 'Teapot';
  return [unknown, 'ServiceUnavailable', 'TooManyRequests'].includes(error.error);
}
type Otherwise = Json<paths['/metadata/{id}']['delete']['responses']['default']>;
export const methodNotAllowed: Otherwise = { error: 'MethodNotAllowed', message: 'no', requestId: 'r-2' };
export const refusedMediaType: Json<paths['/metadata/{id}']['delete']['responses'][415]> = {
  error: 'UnsupportedMediaType',
  message: 'send no body',
  requestId: 'r-3',
};

// Timestamps are strings in RFC 3339 (`format: date-time`).
export const created: Date = new Date(({} as components['schemas']['Site']).createdAt);
