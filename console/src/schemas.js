// A site's settings schemas: the list, and editing one with its impact report first.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { ApiError, call, get, query } from "./api.js";
import { mountEditor, syntaxError } from "./jsonedit.js";
import { Field, LoadState, Pager, Time, enc, go, useCan, useLoad, usePager } from "./ui.js";
import { Progress, describeError, useWrite } from "./writes.js";

// The address of a new schema: "+" is in no layout's name, so no layout can be mistaken for it.
const NEW = "+new";
const STARTER = { type: "object", properties: {}, additionalProperties: false };

export function SchemasTab({ site, layout }) {
  if (layout !== null) return html`<${SchemaEditor} key=${layout} site=${site} layout=${layout === NEW ? null : layout} />`;
  return html`<${SchemaList} site=${site} />`;
}

function SchemaList({ site }) {
  const pager = usePager();
  const schemas = useLoad(() => get(`sites/${enc(site.site)}/schemas${query({ limit: 20, cursor: pager.cursor })}`), [site.site, pager.cursor]);
  const canAdmin = useCan("admin");
  return html`<section aria-labelledby="schemas-heading">
    <h2 id="schemas-heading">Settings schemas</h2>
    ${canAdmin && html`<p><a class="button" href=${`#/sites/${enc(site.site)}/schemas/${NEW}`}>New schema</a></p>`}
    <${LoadState} state=${schemas} what="the schemas" />
    ${schemas.data &&
    html`<table class="list">
        <caption>Which settings each layout of ${site.site} accepts</caption>
        <thead><tr><th scope="col">layout</th><th scope="col">version</th><th scope="col">description</th><th scope="col">updated</th></tr></thead>
        <tbody>
          ${schemas.data.items.map(
            (schema) => html`<tr>
              <td><a href=${`#/sites/${enc(site.site)}/schemas/${schema.layout.split("/").map(enc).join("/")}`}>${schema.layout}</a></td>
              <td>${schema.version}</td><td>${schema.description || ""}</td><td><${Time} value=${schema.updatedAt} /></td>
            </tr>`,
          )}
          ${!schemas.data.items.length && html`<tr><td colspan="4">No schema: configs of any layout take any settings${site.requireSchemas ? " (but this site requires schemas: no config can be written)" : ""}.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${schemas.data.nextCursor} label="Schemas" />`}
  </section>`;
}

async function loadSchema(site, layout) {
  if (!layout) return { schema: null, etag: null };
  const answer = await call("GET", `sites/${enc(site)}/schemas/${layout.split("/").map(enc).join("/")}`);
  return { schema: answer.body, etag: answer.headers.get("ETag") };
}

function SchemaEditor({ site, layout }) {
  const loaded = useLoad(() => loadSchema(site.site, layout), [site.site, layout]);
  return html`<section aria-labelledby="schema-heading">
    <p><a href=${`#/sites/${enc(site.site)}/schemas`}>All schemas</a></p>
    <h2 id="schema-heading">${layout ? `Schema of ${layout}` : "New schema"}</h2>
    <${LoadState} state=${loaded} what="the schema" />
    ${loaded.data && html`<${SchemaForm} site=${site} layout=${layout} loaded=${loaded.data} onDone=${loaded.reload} />`}
  </section>`;
}

function SchemaForm({ site, layout, loaded, onDone }) {
  const canAdmin = useCan("admin");
  const [name, setName] = useState(layout || "");
  const [description, setDescription] = useState((loaded.schema && loaded.schema.description) || "");
  const [text, setText] = useState(JSON.stringify(loaded.schema ? loaded.schema.schema : STARTER, null, 2));
  const [impact, setImpact] = useState(null);
  const [write, run] = useWrite();
  const host = useRef(null);
  const editor = useRef(null);
  useEffect(() => {
    editor.current = mountEditor(host.current, { text, label: "Schema (JSON Schema)", readOnly: !canAdmin, onChange: setText, getSchema: () => null });
    return () => editor.current.view.destroy();
  }, []);
  const syntax = syntaxError(text);
  useEffect(() => {
    setImpact(null);
    editor.current && editor.current.show(syntax ? [{ pos: syntax.pos, message: `JSON syntax error at ${syntax.message}` }] : []);
  }, [text, description, name]);
  const path = () => `sites/${enc(site.site)}/schemas/${name.split("/").map(enc).join("/")}`;
  const body = () => ({ schema: JSON.parse(text), ...(description ? { description } : {}) });
  const headers = loaded.etag ? { "If-Match": loaded.etag } : {};
  const check = async () => {
    try {
      setImpact({ report: (await call("PUT", `${path()}?dryRun=true`, { body: body(), headers })).body });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      setImpact({ error });
    }
  };
  const save = async (force) => {
    const done = await run(`Saving the schema of ${name}`, "PUT", `${path()}${force ? "?force=true" : ""}`, { body: body(), headers });
    if (done && done.status === "succeeded") {
      if (layout) onDone();
      else go(`/sites/${site.site}/schemas/${name}`);
    }
  };
  const remove = async () => {
    const done = await run(`Deleting the schema of ${name}`, "DELETE", path(), { headers });
    if (done && done.status === "succeeded") go(`/sites/${site.site}/schemas`);
  };
  const report = impact && impact.report;
  const breaksPublished = report && report.rejected.some((config) => config.published);
  return html`<div>
    ${loaded.schema && html`<p class="status-line">Version ${loaded.schema.version}, saved <${Time} value=${loaded.schema.updatedAt} />.</p>`}
    ${!layout && html`<${Field} label="Layout" hint="the template name the schema is for">${(id, describedBy) => html`<input id=${id} required value=${name} aria-describedby=${describedBy} onInput=${(event) => setName(event.currentTarget.value)} />`}<//>`}
    <${Field} label="Description">${(id) => html`<input id=${id} value=${description} readonly=${!canAdmin} onInput=${(event) => setDescription(event.currentTarget.value)} />`}<//>
    <div class="field">
      <span class="label">Schema (JSON Schema: the dialect the README names; no remote $ref)</span>
      <div class="code" ref=${host}></div>
      ${syntax && html`<p class="error" role="alert">JSON syntax error at ${syntax.message}</p>`}
    </div>
    ${canAdmin &&
    html`<div class="actions">
      <button type="button" onClick=${check} disabled=${Boolean(syntax) || !name}>Check impact</button>
      ${report && !breaksPublished && html`<button type="button" class="primary" onClick=${() => save(false)}>Save schema</button>`}
      ${report && breaksPublished && html`<button type="button" class="danger" onClick=${() => save(true)}>Save anyway (published pages stay as they are)</button>`}
      ${layout && html`<button type="button" class="danger" onClick=${remove}>Delete schema</button>`}
    </div>`}
    ${impact && impact.error && html`<p class="error" role="alert">The schema is refused: ${describeError(impact.error)}</p>`}
    ${report &&
    html`<div class="card impact" role="status">
      <h3>Impact report</h3>
      <p>${report.checked} config(s) checked; ${report.rejected.length ? `${report.rejected.length} would be rejected` : "none would be rejected"}.${breaksPublished ? " Some are published: saving needs your confirmation." : ""}</p>
      ${report.rejected.length > 0 &&
      html`<ul>
        ${report.rejected.map(
          (config) => html`<li><a href=${`#/configs/${enc(config.id)}`}>${config.page}</a> version ${config.version}${config.published ? " (published)" : " (draft)"}:
            ${config.errors.map((problem) => `${problem.field || ""} ${problem.message}`).join("; ")}</li>`,
        )}
      </ul>`}
    </div>`}
    <${Progress} state=${write} />
  </div>`;
}
