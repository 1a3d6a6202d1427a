// A config's history: every version with its author and time, the diff between any two,
// publishing an older one (a rollback), and preview links.
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { apiUrl, get, query } from "./api.js";
import { Changes } from "./diff.js";
import { Field, LoadState, Pager, Time, enc, useCan, useLoad, usePager } from "./ui.js";
import { Progress, describeError, useWrite } from "./writes.js";
import { PublishPanel } from "./configs.js";

export function HistoryTab({ loaded, onChanged }) {
  const { config, published } = loaded;
  const pager = usePager();
  const versions = useLoad(() => get(`metadata/${enc(config.id)}/versions${query({ limit: 20, cursor: pager.cursor })}`), [config.id, pager.cursor, config.version]);
  const [pair, setPair] = useState({ from: "", to: String(config.version) });
  const [diff, setDiff] = useState(null);
  const [rollback, setRollback] = useState(null);
  const canWrite = useCan("write");
  const compare = async (event) => {
    event.preventDefault();
    try {
      const found = await get(`metadata/${enc(config.id)}/diff${query({ from: pair.from || undefined, to: pair.to })}`);
      setDiff({ ...found, caption: `Version ${pair.to} against ${pair.from ? `version ${pair.from}` : "the published one"}` });
    } catch (error) {
      setDiff({ error });
    }
  };
  const numbers = versions.data ? versions.data.items.filter((item) => !item.deleted).map((item) => String(item.version)) : [];
  return html`<section aria-labelledby="history-heading">
    <h2 id="history-heading">Versions</h2>
    <${LoadState} state=${versions} what="the versions" />
    ${versions.data &&
    html`<table class="list">
        <caption>Every version, newest first</caption>
        <thead><tr><th scope="col">version</th><th scope="col">saved</th><th scope="col">by</th><th scope="col">layout / theme</th><th scope="col">state</th>${canWrite && html`<th scope="col">action</th>`}</tr></thead>
        <tbody>
          ${versions.data.items.map(
            (item) => html`<tr data-version=${item.version}>
              <td>${item.version}</td>
              <td><${Time} value=${item.updatedAt} /></td>
              <td>${item.actor}</td>
              <td>${item.deleted ? "deleted" : `${item.layout} / ${item.theme}`}</td>
              <td>${published && published.config.version === item.version ? "published" : item.version > ((published && published.config.version) || 0) ? "draft" : ""}</td>
              ${canWrite &&
              html`<td>${!item.deleted && !(published && published.config.version === item.version) &&
                html`<button type="button" onClick=${() => setRollback(item.version)}>Publish this version</button>`}</td>`}
            </tr>`,
          )}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${versions.data.nextCursor} label="Versions" />`}
    ${rollback && html`<${PublishPanel} key=${rollback} loaded=${loaded} version=${rollback} onDone=${() => { setRollback(null); onChanged(); }} />`}
    <form class="card row" onSubmit=${compare} aria-label="Compare two versions">
      <${Field} label="From version" hint="empty: the published one">
        ${(id, describedBy) => html`<select id=${id} value=${pair.from} aria-describedby=${describedBy} onChange=${(event) => setPair({ ...pair, from: event.currentTarget.value })}>
          <option value="">published</option>${numbers.map((number) => html`<option value=${number}>${number}</option>`)}
        </select>`}
      <//>
      <${Field} label="To version">
        ${(id) => html`<select id=${id} value=${pair.to} onChange=${(event) => setPair({ ...pair, to: event.currentTarget.value })}>
          ${numbers.map((number) => html`<option value=${number}>${number}</option>`)}
        </select>`}
      <//>
      <button type="submit">Compare</button>
    </form>
    ${diff && diff.error && html`<p class="error" role="alert">${describeError(diff.error)}</p>`}
    ${diff && diff.changes && html`<${Changes} items=${diff.changes} caption=${diff.caption} />`}
    <${PreviewLinks} config=${config} numbers=${numbers} />
  </section>`;
}

const LIFETIMES = [
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
];

function PreviewLinks({ config, numbers }) {
  const links = useLoad(() => get(`metadata/${enc(config.id)}/preview-links`), [config.id]);
  const canWrite = useCan("write");
  const [form, setForm] = useState({ version: "", expiresIn: "86400" });
  const [created, setCreated] = useState(null);
  const [copied, setCopied] = useState("");
  const [write, run] = useWrite();
  const create = async (event) => {
    event.preventDefault();
    const body = { expiresIn: Number(form.expiresIn), ...(form.version ? { version: Number(form.version) } : {}) };
    const done = await run("Creating a preview link", "POST", `metadata/${enc(config.id)}/preview-links`, { body });
    if (done && done.status === "succeeded") {
      setCreated({ url: apiUrl(done.answer.url), expiresAt: done.answer.expiresAt });
      links.reload();
    }
  };
  const revoke = async (link) => {
    const done = await run("Revoking the preview link", "DELETE", `metadata/${enc(config.id)}/preview-links/${enc(link.id)}`);
    if (done && done.status === "succeeded") links.reload();
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.url);
      setCopied("Copied.");
    } catch {
      setCopied("Copying is not allowed here: select the link and copy it.");
    }
  };
  return html`<section aria-labelledby="previews-heading">
    <h2 id="previews-heading">Preview links</h2>
    <${LoadState} state=${links} what="the preview links" />
    ${links.data &&
    html`<table class="list">
      <caption>Links that have not expired (their tokens are shown once, when made)</caption>
      <thead><tr><th scope="col">shows</th><th scope="col">made</th><th scope="col">by</th><th scope="col">expires</th>${canWrite && html`<th scope="col">action</th>`}</tr></thead>
      <tbody>
        ${links.data.items.map(
          (link) => html`<tr>
            <td>${link.version ? `version ${link.version}` : "the latest draft"}</td>
            <td><${Time} value=${link.createdAt} /></td>
            <td>${link.createdBy}</td>
            <td><${Time} value=${link.expiresAt} /></td>
            ${canWrite && html`<td><button type="button" onClick=${() => revoke(link)}>Revoke</button></td>`}
          </tr>`,
        )}
        ${!links.data.items.length && html`<tr><td colspan="5">No preview link.</td></tr>`}
      </tbody>
    </table>`}
    ${canWrite &&
    html`<form class="card row" onSubmit=${create} aria-label="Create a preview link">
      <${Field} label="Version to show">
        ${(id) => html`<select id=${id} value=${form.version} onChange=${(event) => setForm({ ...form, version: event.currentTarget.value })}>
          <option value="">the latest draft</option>${numbers.map((number) => html`<option value=${number}>${number}</option>`)}
        </select>`}
      <//>
      <${Field} label="Valid for">
        ${(id) => html`<select id=${id} value=${form.expiresIn} onChange=${(event) => setForm({ ...form, expiresIn: event.currentTarget.value })}>
          ${LIFETIMES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>`}
      <//>
      <button type="submit">Create preview link</button>
    </form>`}
    <${Progress} state=${write} />
    ${created &&
    html`<div class="card created-link">
      <${Field} label="Preview link (shown once)" hint=${`valid until ${created.expiresAt}`}>
        ${(id, describedBy) => html`<input id=${id} class="preview-url" readonly value=${created.url} aria-describedby=${describedBy} onFocus=${(event) => event.currentTarget.select()} />`}
      <//>
      <button type="button" onClick=${copy}>Copy link</button> <a href=${created.url} target="_blank" rel="noopener noreferrer">Open preview</a>
      <span role="status">${copied}</span>
    </div>`}
  </section>`;
}
