// Small shared pieces: loading data, the session's scope, links, pagers, form fields.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { describeError } from "./writes.js";

export const Session = createContext({ scope: null });

const RANK = { read: 1, write: 2, admin: 3 };

/** Whether the signed-in token has at least `scope`. */
export function useCan(scope) {
  const session = useContext(Session);
  return (RANK[session.scope] || 0) >= RANK[scope];
}

/** Loads with `load()` whenever `deps` change; `reload()` loads again. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    load().then(
      (data) => current && setState({ loading: false, data, error: null }),
      (error) => current && setState({ loading: false, data: null, error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return { ...state, reload };
}

/** The state of a load: loading, or its error in words, or nothing once loaded. */
export function LoadState({ state, what }) {
  if (state.error) return html`<p class="error" role="alert">Could not load ${what}: ${describeError(state.error)}</p>`;
  if (state.loading && !state.data) return html`<p class="muted" role="status">Loading ${what}…</p>`;
  return null;
}

/** The screen's heading: focused when the screen opens, so keyboard and screen-reader users start there. */
export function Title({ children }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current) ref.current.focus();
  }, []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

/** Cursor paging: the API gives `nextCursor`; earlier cursors are kept to go back. */
export function usePager() {
  const [cursors, setCursors] = useState([null]);
  const cursor = cursors[cursors.length - 1];
  return {
    cursor,
    page: cursors.length,
    next: (nextCursor) => setCursors((list) => [...list, nextCursor]),
    back: () => setCursors((list) => (list.length > 1 ? list.slice(0, -1) : list)),
    reset: () => setCursors([null]),
  };
}

export function Pager({ pager, nextCursor, label }) {
  return html`<nav class="pager" aria-label=${`${label} pages`}>
    <button type="button" onClick=${pager.back} disabled=${pager.page === 1}>Previous page</button>
    <span>Page ${pager.page}</span>
    <button type="button" onClick=${() => pager.next(nextCursor)} disabled=${!nextCursor}>Next page</button>
  </nav>`;
}

let fieldCount = 0;
/** A labelled form control; `children` is the control, given `id` and `aria-describedby`. */
export function Field({ label, hint, error, children }) {
  const id = useRef(`field-${++fieldCount}`).current;
  const control = children(id, [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined);
  return html`<div class=${`field ${error ? "invalid" : ""}`}>
    <label for=${id}>${label}</label>
    ${control}
    ${hint && html`<small id=${`${id}-hint`}>${hint}</small>`}
    ${error && html`<small class="error" id=${`${id}-error`}>${error}</small>`}
  </div>`;
}

export function time(value) {
  if (!value) return "";
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function Time({ value }) {
  return value ? html`<time datetime=${value}>${time(value)}</time>` : html`<span class="muted">never</span>`;
}

/** A navigation inside the console (hash routes). */
export function go(path) {
  location.hash = `#${path}`;
}

export const enc = encodeURIComponent;
