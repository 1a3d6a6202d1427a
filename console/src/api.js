// The API, as the console uses it: the public HTTP contract, same origin, a bearer token
// kept in sessionStorage only (gone when the tab closes; never in a URL or localStorage).

const TOKEN_KEY = "metadata-manager-console-token";

// The API's base path: where the console is served from, without `/console` (deployed,
// that keeps the stage's prefix, e.g. `/api/`).
export const apiBase = location.pathname.replace(/\/console(\/.*)?$/, "/");

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer that was not 2xx, with the contract's error body when it had one. */
export class ApiError extends Error {
  constructor(status, body, headers) {
    const text = body && typeof body === "object" && body.message ? body.message : `the API answered ${status}`;
    super(text);
    this.status = status;
    this.code = (body && body.error) || `HTTP${status}`;
    this.details = (body && body.details) || [];
    this.requestId = body && body.requestId;
    this.headers = headers;
  }
}

/** Absolute path of an API route, for links shown to the user (preview links, say). */
export function apiUrl(path) {
  return new URL(apiBase + path.replace(/^\//, ""), location.origin).href;
}

/** Sends one request; answers {status, body, headers} for 2xx and 304, throws ApiError otherwise. */
export async function call(method, path, { body, headers = {}, token } = {}) {
  const sent = { ...headers };
  const bearer = token === undefined ? storedToken() : token;
  if (bearer) sent.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiBase + path.replace(/^\//, ""), {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, { error: "NetworkError", message: `the API could not be reached (${error.message})` });
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
  }
  if (!response.ok && response.status !== 304) throw new ApiError(response.status, parsed, response.headers);
  return { status: response.status, body: parsed, headers: response.headers };
}

export async function get(path, options) {
  return (await call("GET", path, options)).body;
}

export function query(params) {
  const entries = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
}

/**
 * What a token may do, found through the contract itself: a token the API does not know is
 * refused by any protected route (401); `GET /operations/{id}` needs the write scope (403
 * for a read token, 404 for a write one, the id being made up), `GET /admin/backups` the
 * admin scope.
 */
export async function scopeOf(token) {
  await call("GET", "sites?limit=1", { token });
  const probe = async (path) => {
    try {
      await call("GET", path, { token });
      return true;
    } catch (error) {
      if (error.status === 403) return false;
      if (error.status === 404 || error.status === 400) return true;
      throw error;
    }
  };
  if (!(await probe("operations/scope-probe"))) return "read";
  return (await probe("admin/backups?limit=1")) ? "admin" : "write";
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls an accepted write's operation until it succeeds or fails; `onChange` sees each state. */
export async function follow(operationId, onChange, { interval = 300, timeout = 60000 } = {}) {
  const started = Date.now();
  let wait = interval;
  for (;;) {
    const operation = await get(`operations/${encodeURIComponent(operationId)}`);
    onChange(operation);
    if (operation.status !== "pending") return operation;
    if (Date.now() - started > timeout) {
      throw new ApiError(0, {
        error: "StillPending",
        message: `the operation was still pending after ${timeout / 1000} s; it may yet be applied (is the worker running?)`,
      });
    }
    await delay(wait);
    wait = Math.min(wait * 1.5, 2000);
  }
}

/** A fresh Idempotency-Key: a retry of the same submission gives back the same operation. */
export function idempotencyKey() {
  return crypto.randomUUID();
}
