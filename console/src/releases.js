// A site's releases: several pages published together, approved, scheduled, reverted.
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { get, query } from "./api.js";
import { Changes } from "./diff.js";
import { Field, LoadState, Pager, Time, enc, go, useCan, useLoad, usePager } from "./ui.js";
import { Progress, useWrite } from "./writes.js";

const STATUSES = ["open", "approved", "scheduled", "published", "cancelled", "failed", "reverted"];

export function ReleasesTab({ site, release }) {
  if (release) return html`<${ReleaseDetail} site=${site} id=${release} />`;
  return html`<${ReleaseList} site=${site} />`;
}

function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`}>${status}</span>`;
}

function ReleaseList({ site }) {
  const pager = usePager();
  const [status, setStatus] = useState("");
  const releases = useLoad(() => get(`sites/${enc(site.site)}/releases${query({ status, limit: 20, cursor: pager.cursor })}`), [site.site, status, pager.cursor]);
  const canWrite = useCan("write");
  return html`<section aria-labelledby="releases-heading">
    <h2 id="releases-heading">Releases</h2>
    <${Field} label="Status">
      ${(id) => html`<select id=${id} value=${status} onChange=${(event) => { setStatus(event.currentTarget.value); pager.reset(); }}>
        <option value="">any</option>${STATUSES.map((name) => html`<option value=${name}>${name}</option>`)}
      </select>`}
    <//>
    <${LoadState} state=${releases} what="the releases" />
    ${releases.data &&
    html`<table class="list">
        <caption>Releases of ${site.site}, newest first</caption>
        <thead><tr><th scope="col">title</th><th scope="col">status</th><th scope="col">pages</th><th scope="col">approvals</th><th scope="col">publish at</th><th scope="col">created</th></tr></thead>
        <tbody>
          ${releases.data.items.map(
            (release) => html`<tr>
              <td><a href=${`#/sites/${enc(site.site)}/releases/${enc(release.id)}`}>${release.title}</a></td>
              <td><${StatusBadge} status=${release.status} /></td>
              <td>${release.items.map((item) => `${item.page} v${item.version}`).join(", ")}</td>
              <td>${release.approvals.length} of ${release.requiredApprovals}</td>
              <td>${release.publishAt ? html`<${Time} value=${release.publishAt} />` : "when published"}</td>
              <td><${Time} value=${release.createdAt} /></td>
            </tr>`,
          )}
          ${!releases.data.items.length && html`<tr><td colspan="6">No release.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${releases.data.nextCursor} label="Releases" />`}
    ${canWrite && html`<${NewRelease} site=${site} onDone=${releases.reload} />`}
  </section>`;
}

/** Local date and time from a datetime-local input, as UTC ISO 8601. */
function utc(local) {
  return local ? new Date(local).toISOString() : undefined;
}

function NewRelease({ site }) {
  const drafts = useLoad(async () => {
    const found = await get(`metadata${query({ site: site.site, limit: 100 })}`);
    return found.items.filter((config) => config.publishedVersion == null || config.version > config.publishedVersion);
  }, [site.site]);
  const [title, setTitle] = useState("");
  const [chosen, setChosen] = useState({});
  const [publishAt, setPublishAt] = useState("");
  const [write, run] = useWrite();
  const submit = async (event) => {
    event.preventDefault();
    const items = (drafts.data || []).filter((config) => chosen[config.id]).map((config) => ({ configId: config.id, version: config.version }));
    const body = { title, items, ...(publishAt ? { publishAt: utc(publishAt) } : {}) };
    const done = await run(`Creating release "${title}"`, "POST", `sites/${enc(site.site)}/releases`, { body });
    if (done && done.status === "succeeded") go(`/sites/${site.site}/releases/${done.resourceId || done.answer.id}`);
  };
  return html`<form class="card" onSubmit=${submit} aria-label="Create a release">
    <h2>Create a release from drafts</h2>
    <${Field} label="Title">${(id) => html`<input id=${id} required maxlength="200" value=${title} onInput=${(event) => setTitle(event.currentTarget.value)} />`}<//>
    <${LoadState} state=${drafts} what="the drafts" />
    ${drafts.data &&
    html`<fieldset>
      <legend>Pages (their latest drafts)</legend>
      ${drafts.data.map(
        (config) => html`<div class="field check">
          <input type="checkbox" id=${`release-${config.id}`} checked=${Boolean(chosen[config.id])} onChange=${(event) => setChosen({ ...chosen, [config.id]: event.currentTarget.checked })} />
          <label for=${`release-${config.id}`}>${config.page}, version ${config.version} (published: ${config.publishedVersion == null ? "none" : config.publishedVersion})</label>
        </div>`,
      )}
      ${!drafts.data.length && html`<p>No page has a draft ahead of what it serves.</p>`}
    </fieldset>`}
    <${Field} label="Publish at (your local time; empty: when published by hand)">
      ${(id) => html`<input id=${id} type="datetime-local" value=${publishAt} onInput=${(event) => setPublishAt(event.currentTarget.value)} />`}
    <//>
    <button type="submit" disabled=${!Object.values(chosen).some(Boolean)}>Create release</button>
    <${Progress} state=${write} />
  </form>`;
}

const ACTIONS = [
  ["approve", "Approve", (release) => release.status === "open" || release.status === "approved"],
  ["publish", "Publish now", (release) => ["open", "approved", "scheduled"].includes(release.status)],
  ["cancel", "Cancel", (release) => ["open", "approved", "scheduled"].includes(release.status)],
  ["revert", "Revert", (release) => release.status === "published"],
];

function ReleaseDetail({ site, id }) {
  const release = useLoad(() => get(`sites/${enc(site.site)}/releases/${enc(id)}`), [site.site, id]);
  const canWrite = useCan("write");
  const [write, run] = useWrite();
  const act = async (action, label) => {
    const done = await run(`${label}: ${release.data.title}`, "POST", `sites/${enc(site.site)}/releases/${enc(id)}/${action}`);
    if (done) release.reload();
  };
  const data = release.data;
  return html`<section aria-labelledby="release-heading">
    <p><a href=${`#/sites/${enc(site.site)}/releases`}>All releases</a></p>
    <${LoadState} state=${release} what="the release" />
    ${data &&
    html`<h2 id="release-heading">${data.title} <${StatusBadge} status=${data.status} /></h2>
      <dl class="facts">
        <dt>Approvals</dt><dd>${data.approvals.length} of ${data.requiredApprovals} required${data.approvals.length ? ` (${data.approvals.map((approval) => approval.name || approval.tokenId).join(", ")})` : ""}</dd>
        <dt>Created by</dt><dd>${data.createdBy.name || data.createdBy.tokenId}, <${Time} value=${data.createdAt} /></dd>
        <dt>Publish at</dt><dd>${data.publishAt ? html`<${Time} value=${data.publishAt} />` : "when published by hand"}</dd>
        <dt>Published</dt><dd><${Time} value=${data.publishedAt} /></dd>
        ${data.revertedAt && html`<dt>Reverted</dt><dd><${Time} value=${data.revertedAt} /></dd>`}
        ${data.failure && html`<dt>Failure</dt><dd class="error">${data.failure.message}</dd>`}
      </dl>
      ${canWrite &&
      html`<div class="actions">
        ${ACTIONS.filter(([, , allowed]) => allowed(data)).map(([action, label]) => html`<button type="button" onClick=${() => act(action, label)}>${label}</button>`)}
      </div>`}
      <${Progress} state=${write} />
      <h3>Pages and what publishing changes</h3>
      ${data.items.map(
        (item) => html`<div class="card">
          <h4><a href=${`#/configs/${enc(item.configId)}`}>${item.page}</a>: version ${item.version} (live now: ${item.liveVersion == null ? "none" : item.liveVersion})</h4>
          <${Changes} items=${item.changes} caption=${`${item.page}: version ${item.version} against what it serves`} />
        </div>`,
      )}`}
  </section>`;
}
