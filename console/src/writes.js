// Every write is accepted (202) and applied later by the worker: `useWrite` submits it,
// follows its operation until it succeeds or fails, and `Progress` says so in words.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { ApiError, call, follow, idempotencyKey } from "./api.js";

// What a failed operation's code means, for an editor.
const FAILURES = {
  SchemaViolation: "the settings no longer fit the layout's schema (it changed after the write was accepted)",
  PreconditionFailed: "someone else changed it first",
  PageChangedSince: "the page changed since the release was made",
  ApprovalRequired: "the site requires approvals: publish through a release",
  SelfApproval: "a release cannot be approved by the token that created it",
  AlreadyApproved: "this token has already approved the release",
  ReleaseStateConflict: "the release is not in a state that allows this",
  ReleaseTooLarge: "the release holds too many pages",
  NotPublished: "the page is not published",
  StillPublished: "it is still published",
  UnknownSite: "the site does not exist (any more)",
  NotFound: "it no longer exists",
  Superseded: "a later write replaced it",
  Conflict: "it conflicts with the current state",
};

/** Words for an error thrown by `call` or a failed operation's `error`. */
export function describeError(error) {
  if (!error) return "";
  const code = error.code || error.error;
  const reason = FAILURES[code];
  const details = (error.details || [])
    .filter((detail) => detail.message && detail.message !== error.message)
    .map((detail) => (detail.field ? `${detail.field}: ${detail.message}` : detail.message))
    .filter(Boolean);
  const main = error.message || reason;
  return [main || code, ...details].join("; ");
}

// A write whose screen was left (a page created leads to the page, say) goes on being
// shown above every screen, until it ends and the next write starts.
let setFlash = () => {};
let shown = null;

export function useAnnouncer(setter) {
  setFlash = setter;
}

// Screens left together (an editor and its publish panel) each say their last write: the latest stays.
function announce(next) {
  if (next === null || shown === null || next.at >= shown.at) {
    shown = next;
    setFlash(next);
  }
}

/**
 * Submits a write and follows it. `run(label, method, path, {body, headers})` answers the
 * finished operation (or null when the write was refused, the reason being in `state`).
 */
export function useWrite() {
  const [state, setState] = useState(null);
  const mounted = useRef(true);
  const last = useRef(null);
  useEffect(
    () => () => {
      mounted.current = false;
      // Still going, or just ended (a screen that moves on once its write succeeded).
      if (last.current && (!ENDED.has(last.current.phase) || Date.now() - last.current.at < 10000)) announce(last.current);
    },
    [],
  );
  const show = useCallback((next) => {
    last.current = { ...next, at: Date.now() };
    if (mounted.current) setState(next);
    else announce(next);
  }, []);
  const run = useCallback(async (label, method, path, options = {}) => {
    announce(null);
    show({ label, phase: "sending" });
    try {
      const headers = { "Idempotency-Key": idempotencyKey(), ...(options.headers || {}) };
      const answer = await call(method, path, { ...options, headers });
      if (answer.status !== 202 || !answer.body || !answer.body.operationId) {
        show({ label, phase: "succeeded", answer: answer.body });
        return { status: "succeeded", answer: answer.body };
      }
      show({ label, phase: "pending", answer: answer.body });
      const operation = await follow(answer.body.operationId, (current) =>
        show({ label, phase: current.status, operation: current, answer: answer.body }),
      );
      return { ...operation, answer: answer.body };
    } catch (error) {
      show({ label, phase: "refused", error });
      if (!(error instanceof ApiError)) throw error;
      return null;
    }
  }, []);
  return [state, run, show];
}

const ENDED = new Set(["succeeded", "failed", "refused"]);

const PHASES = {
  sending: "sending…",
  pending: "accepted, waiting for the worker to apply it…",
  succeeded: "done",
  failed: "failed",
  refused: "refused",
};

/** The progress of the last write: a live region, so a screen reader hears it too. */
export function Progress({ state }) {
  if (!state) return html`<p class="progress" role="status" aria-live="polite"></p>`;
  const bad = state.phase === "failed" || state.phase === "refused";
  const reason = state.phase === "failed" ? describeError(state.operation.error) : state.phase === "refused" ? describeError(state.error) : "";
  const version = state.operation && state.operation.version ? ` (version ${state.operation.version})` : "";
  return html`<p class=${`progress ${bad ? "bad" : state.phase === "succeeded" ? "good" : "busy"}`} role="status" aria-live="polite" data-phase=${state.phase}>
    <strong>${state.label}</strong>: ${PHASES[state.phase]}${state.phase === "succeeded" ? version : ""}${reason ? `: ${reason}` : ""}
  </p>`;
}
