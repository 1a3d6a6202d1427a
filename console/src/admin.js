// For admins: the audit log, a site's webhooks (deliveries, test, secret rotation), and the
// operations screen (backup checks and the dead-letter redrive).
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { call, get, query } from "./api.js";
import { Field, LoadState, Pager, Time, Title, enc, go, useLoad, usePager } from "./ui.js";
import { Progress, describeError, useWrite } from "./writes.js";

const EVENT_TYPES = ["page.published", "page.unpublished", "page.deleted", "release.published", "release.reverted", "site.changed", "schema.changed", "schema.deleted"];

const utc = (local) => (local ? new Date(local).toISOString() : undefined);

function patchSummary(patch) {
  return patch.map((step) => `${step.op} ${step.path}${step.value !== undefined ? ` = ${JSON.stringify(step.value)}` : ""}`).join("\n");
}

export function AuditLog({ site }) {
  const pager = usePager();
  const [range, setRange] = useState({ since: "", until: "" });
  const [applied, setApplied] = useState({ since: "", until: "" });
  const path = site ? `sites/${enc(site)}/audit` : "admin/audit";
  const entries = useLoad(() => get(`${path}${query({ since: utc(applied.since), until: utc(applied.until), limit: 20, cursor: pager.cursor })}`), [path, applied, pager.cursor]);
  const filter = (event) => {
    event.preventDefault();
    pager.reset();
    setApplied(range);
  };
  return html`<section aria-labelledby="audit-heading">
    <h2 id="audit-heading">${site ? "Audit log" : "Audit log of what belongs to no site (tokens)"}</h2>
    <form class="row" onSubmit=${filter} aria-label="Audit period">
      <${Field} label="Since (local time)">${(id) => html`<input id=${id} type="datetime-local" value=${range.since} onInput=${(event) => setRange({ ...range, since: event.currentTarget.value })} />`}<//>
      <${Field} label="Until (local time)">${(id) => html`<input id=${id} type="datetime-local" value=${range.until} onInput=${(event) => setRange({ ...range, until: event.currentTarget.value })} />`}<//>
      <button type="submit">Show</button>
    </form>
    <${LoadState} state=${entries} what="the audit log" />
    ${entries.data &&
    html`<table class="list audit">
        <caption>Applied changes, newest first</caption>
        <thead><tr><th scope="col">when</th><th scope="col">who</th><th scope="col">what</th><th scope="col">resource</th><th scope="col">versions</th><th scope="col">change</th></tr></thead>
        <tbody>
          ${entries.data.items.map(
            (entry) => html`<tr data-type=${entry.type}>
              <td><${Time} value=${entry.at} /></td>
              <td>${entry.actor.name || entry.actor.tokenId || "the system"}</td>
              <td>${entry.type}</td>
              <td>${entry.page ? `${entry.resource} (${entry.page})` : entry.resource}</td>
              <td>${entry.fromVersion ?? "–"} → ${entry.toVersion ?? "–"}</td>
              <td><details><summary>${entry.patch.length} step(s)</summary><pre>${patchSummary(entry.patch)}</pre></details></td>
            </tr>`,
          )}
          ${!entries.data.items.length && html`<tr><td colspan="6">Nothing in this period.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${entries.data.nextCursor} label="Audit" />`}
  </section>`;
}

export function WebhooksTab({ site, name }) {
  const webhooks = useLoad(() => get(`sites/${enc(site)}/webhooks?limit=100`), [site]);
  return html`<section aria-labelledby="webhooks-heading">
    <h2 id="webhooks-heading">Webhooks</h2>
    <${LoadState} state=${webhooks} what="the webhooks" />
    ${webhooks.data &&
    html`<table class="list">
      <caption>Where ${site}'s change events are posted</caption>
      <thead><tr><th scope="col">name</th><th scope="col">URL</th><th scope="col">events</th><th scope="col">state</th></tr></thead>
      <tbody>
        ${webhooks.data.items.map(
          (hook) => html`<tr>
            <td><a href=${`#/sites/${enc(site)}/webhooks/${enc(hook.name)}`} aria-current=${hook.name === name ? "page" : undefined}>${hook.name}</a></td>
            <td>${hook.url}</td><td>${hook.events.join(", ")}</td>
            <td>${hook.enabled ? "enabled" : `disabled: ${hook.disabledReason || ""}`}</td>
          </tr>`,
        )}
        ${!webhooks.data.items.length && html`<tr><td colspan="4">No webhook.</td></tr>`}
      </tbody>
    </table>`}
    ${name && webhooks.data && html`<${Webhook} key=${name} site=${site} hook=${webhooks.data.items.find((hook) => hook.name === name)} onChanged=${webhooks.reload} />`}
    ${!name && html`<${WebhookForm} site=${site} onDone=${webhooks.reload} />`}
  </section>`;
}

function WebhookForm({ site, hook, onDone }) {
  const [fields, setFields] = useState({ name: hook ? hook.name : "", url: hook ? hook.url : "", events: new Set(hook ? hook.events : EVENT_TYPES) });
  const [secret, setSecret] = useState(null);
  const [write, run] = useWrite();
  const submit = async (event) => {
    event.preventDefault();
    const body = { url: fields.url, events: EVENT_TYPES.filter((type) => fields.events.has(type)) };
    const done = await run(hook ? `Saving webhook ${fields.name}` : `Creating webhook ${fields.name}`, "PUT", `sites/${enc(site)}/webhooks/${enc(fields.name)}`, { body });
    if (done && done.status === "succeeded") {
      if (done.answer.secret) setSecret(done.answer.secret);
      onDone();
    }
  };
  const toggle = (type) => (event) => {
    const events = new Set(fields.events);
    if (event.currentTarget.checked) events.add(type);
    else events.delete(type);
    setFields({ ...fields, events });
  };
  return html`<form class="card" onSubmit=${submit} aria-label=${hook ? "Edit the webhook" : "Create a webhook"}>
    <h3>${hook ? `Edit ${hook.name}` : "Create a webhook"}</h3>
    ${!hook && html`<${Field} label="Name">${(id) => html`<input id=${id} required pattern="^[a-z0-9][a-z0-9\\-]{0,62}$" value=${fields.name} onInput=${(event) => setFields({ ...fields, name: event.currentTarget.value })} />`}<//>`}
    <${Field} label="URL" hint="https, public addresses only (the local stage also takes 127.0.0.1)">${(id, describedBy) => html`<input id=${id} type="url" required value=${fields.url} aria-describedby=${describedBy} onInput=${(event) => setFields({ ...fields, url: event.currentTarget.value })} />`}<//>
    <fieldset><legend>Events</legend>
      ${EVENT_TYPES.map((type) => html`<div class="field check"><input type="checkbox" id=${`event-${type}`} checked=${fields.events.has(type)} onChange=${toggle(type)} /><label for=${`event-${type}`}>${type}</label></div>`)}
    </fieldset>
    <button type="submit">${hook ? "Save webhook" : "Create webhook"}</button>
    <${Progress} state=${write} />
    ${secret && html`<${Secret} secret=${secret} />`}
  </form>`;
}

function Secret({ secret }) {
  return html`<div class="secret" role="status"><p>The signing secret, shown this once: keep it where the receiver can read it.</p><code>${secret}</code></div>`;
}

function Webhook({ site, hook, onChanged }) {
  const pager = usePager();
  const deliveries = useLoad(() => get(`sites/${enc(site)}/webhooks/${enc(hook.name)}/deliveries${query({ limit: 20, cursor: pager.cursor })}`), [site, hook && hook.name, pager.cursor]);
  const [write, run, setWrite] = useWrite();
  const [secret, setSecret] = useState(null);
  if (!hook) return html`<p class="error">No such webhook.</p>`;
  const path = `sites/${enc(site)}/webhooks/${enc(hook.name)}`;
  const test = async () => {
    setWrite({ label: "Sending a test event", phase: "sending" });
    try {
      const answer = await call("POST", `${path}/test`);
      setWrite({ label: `Test event ${answer.body.eventId} queued`, phase: "succeeded" });
      setTimeout(deliveries.reload, 1500);
    } catch (error) {
      setWrite({ label: "Sending a test event", phase: "refused", error });
    }
  };
  const rotate = async () => {
    const done = await run("Rotating the signing secret", "POST", `${path}/rotate-secret`);
    if (done && done.status === "succeeded" && done.answer.secret) setSecret(done.answer.secret);
  };
  const remove = async () => {
    const done = await run(`Deleting webhook ${hook.name}`, "DELETE", path);
    if (done && done.status === "succeeded") {
      onChanged();
      go(`/sites/${site}/webhooks`);
    }
  };
  return html`<div class="card">
    <h3>Webhook ${hook.name}</h3>
    <p>Secrets: ${hook.secrets.map((one) => `made ${one.createdAt}${one.expiresAt ? `, expires ${one.expiresAt}` : ""}`).join("; ")}</p>
    <div class="actions">
      <button type="button" onClick=${test}>Send a test event</button>
      <button type="button" onClick=${rotate}>Rotate the secret</button>
      <button type="button" class="danger" onClick=${remove}>Delete webhook</button>
    </div>
    <${Progress} state=${write} />
    ${secret && html`<${Secret} secret=${secret} />`}
    <h4>Deliveries</h4>
    <button type="button" onClick=${deliveries.reload}>Refresh deliveries</button>
    <${LoadState} state=${deliveries} what="the deliveries" />
    ${deliveries.data &&
    html`<table class="list">
        <caption>Every attempt, newest first</caption>
        <thead><tr><th scope="col">when</th><th scope="col">event</th><th scope="col">attempt</th><th scope="col">result</th><th scope="col">next try</th></tr></thead>
        <tbody>
          ${deliveries.data.items.map(
            (delivery) => html`<tr>
              <td><${Time} value=${delivery.attemptedAt} /></td>
              <td>${delivery.eventType}</td><td>${delivery.attempt}</td>
              <td>${delivery.status}${delivery.statusCode ? ` (HTTP ${delivery.statusCode})` : ""}${delivery.error ? `: ${delivery.error}` : ""}${delivery.deadLettered ? ", dead-lettered" : ""}</td>
              <td>${delivery.nextAttemptAt ? html`<${Time} value=${delivery.nextAttemptAt} />` : "–"}</td>
            </tr>`,
          )}
          ${!deliveries.data.items.length && html`<tr><td colspan="5">No delivery yet.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${deliveries.data.nextCursor} label="Deliveries" />`}
    <${WebhookForm} site=${site} hook=${hook} onDone=${onChanged} />
  </div>`;
}

export function AdminScreen() {
  return html`<section>
    <${Title}>Operations<//>
    <${Backups} />
    <${Redrive} />
    <${AuditLog} site=${null} />
  </section>`;
}

function Backups() {
  const report = useLoad(() => get("admin/backups?limit=10"), []);
  const latest = report.data && report.data.latest;
  return html`<section aria-labelledby="backups-heading">
    <h2 id="backups-heading">Backups</h2>
    <${LoadState} state=${report} what="the backup checks" />
    ${report.data && !latest && html`<p>No backup check has run yet (it runs on a schedule).</p>`}
    ${latest &&
    html`<p>Latest check <${Time} value=${latest.checkedAt} />: <span class=${`badge status-${latest.status}`}>${latest.status}</span></p>
      <table class="list"><caption>Findings of the latest check</caption>
        <thead><tr><th scope="col">check</th><th scope="col">status</th><th scope="col">why</th></tr></thead>
        <tbody>${latest.findings.map((finding) => html`<tr><td>${finding.check}</td><td>${finding.status}</td><td>${finding.reason}</td></tr>`)}</tbody>
      </table>
      <p>Earlier checks: ${report.data.history.slice(1).map((run) => `${run.checkedAt} ${run.status}`).join("; ") || "none"}</p>`}
  </section>`;
}

function Redrive() {
  const [queue, setQueue] = useState("writes");
  const [limit, setLimit] = useState("100");
  const [state, setState] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setState({ phase: "sending" });
    try {
      const answer = await call("POST", `admin/redrive${query({ queue, limit })}`);
      setState({ phase: "done", result: answer.body });
    } catch (error) {
      setState({ phase: "failed", error });
    }
  };
  return html`<section aria-labelledby="redrive-heading">
    <h2 id="redrive-heading">Dead-letter queues</h2>
    <form class="card row" onSubmit=${submit} aria-label="Redrive dead letters">
      <${Field} label="Queue">${(id) => html`<select id=${id} value=${queue} onChange=${(event) => setQueue(event.currentTarget.value)}><option value="writes">writes</option><option value="webhooks">webhook deliveries</option></select>`}<//>
      <${Field} label="At most (messages)">${(id) => html`<input id=${id} type="number" min="1" max="1000" required value=${limit} onInput=${(event) => setLimit(event.currentTarget.value)} />`}<//>
      <button type="submit">Redrive</button>
    </form>
    <p role="status" aria-live="polite" class=${state && state.phase === "failed" ? "error" : ""}>
      ${state && state.phase === "sending" && "Moving messages back…"}
      ${state && state.phase === "done" && `Moved ${state.result.moved}, failed ${state.result.failed}, ${state.result.remaining} still in the dead-letter queue.`}
      ${state && state.phase === "failed" && `Redrive refused: ${describeError(state.error)}`}
    </p>
  </section>`;
}
