// A page's config: the editor (layout, theme, settings in CodeMirror, checked as you type
// by the API's dry run), saving with If-Match and the 412 flow, publishing; and its history.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { ApiError, call, get, query } from "./api.js";
import { mountEditor, syntaxError } from "./jsonedit.js";
import { Changes, changes } from "./diff.js";
import { Field, LoadState, Title, enc, go, useCan, useLoad } from "./ui.js";
import { Progress, describeError, useWrite } from "./writes.js";
import { draftState } from "./sites.js";
import { HistoryTab } from "./history.js";

const CHECK_DELAY_MS = 400;

async function loadConfig(id) {
  const draft = await call("GET", `metadata/${enc(id)}/draft`);
  const config = draft.body;
  let published = null;
  if (config.publishedVersion != null) {
    const answer = await call("GET", `metadata/${enc(id)}`, { token: null });
    published = { config: answer.body, etag: answer.headers.get("ETag") };
  }
  return { ...(await loadSite(config.site)), config, etag: draft.headers.get("ETag"), published };
}

/** The site, its layouts' schemas, and the themes its pages use (offered when typing one). */
async function loadSite(site) {
  const [found, schemas, pages] = await Promise.all([
    get(`sites/${enc(site)}`),
    get(`sites/${enc(site)}/schemas?limit=100`),
    get(`metadata${query({ site, limit: 100 })}`),
  ]);
  const themes = [...new Set(pages.items.map((page) => page.theme))].sort();
  return { config: null, etag: null, published: null, site: found, schemas: schemas.items, themes };
}

export function NewConfig({ site }) {
  const loaded = useLoad(() => loadSite(site), [site]);
  return html`<section>
    <p class="crumbs"><a href="#/">Sites</a> / <a href=${`#/sites/${enc(site)}`}>${site}</a> / new page</p>
    <${Title}>New page on ${site}<//>
    <${LoadState} state=${loaded} what="the site" />
    ${loaded.data && html`<${ConfigEditor} loaded=${loaded.data} onSaved=${(id) => go(`/configs/${id}`)} />`}
  </section>`;
}

export function ConfigScreen({ id, tab }) {
  const loaded = useLoad(() => loadConfig(id), [id]);
  const config = loaded.data && loaded.data.config;
  return html`<section>
    <p class="crumbs"><a href="#/">Sites</a> / ${config ? html`<a href=${`#/sites/${enc(config.site)}`}>${config.site}</a>` : "…"} / ${config ? config.page : id}</p>
    <${Title}>${config ? `Page ${config.page}` : "Page"}<//>
    <${LoadState} state=${loaded} what="the config" />
    ${config && html`<p class="status-line">Version ${config.version}, ${draftState(config)}${loaded.data.site.publishMode === "review" ? " (this site publishes after review)" : ""}.</p>`}
    <nav class="tabs" aria-label="Config">
      <a href=${`#/configs/${enc(id)}`} aria-current=${tab === "edit" ? "page" : undefined}>Edit</a>
      <a href=${`#/configs/${enc(id)}/history`} aria-current=${tab === "history" ? "page" : undefined}>History and previews</a>
    </nav>
    ${loaded.data && tab === "edit" && html`<${ConfigEditor} key=${loaded.data.etag} loaded=${loaded.data} onSaved=${loaded.reload} />`}
    ${loaded.data && tab === "history" && html`<${HistoryTab} loaded=${loaded.data} onChanged=${loaded.reload} />`}
  </section>`;
}

function content(fields, settings) {
  return { layout: fields.layout, theme: fields.theme, settings };
}

function ConfigEditor({ loaded, onSaved }) {
  const { config, site, schemas, published } = loaded;
  const canWrite = useCan("write");
  const [fields, setFields] = useState({
    page: "",
    layout: config ? config.layout : schemas.length ? schemas[0].layout : "",
    theme: config ? config.theme : "",
  });
  const [text, setText] = useState(JSON.stringify(config ? config.settings : {}, null, 2));
  const [check, setCheck] = useState({ phase: "idle", problems: [] });
  const [base, setBase] = useState({ etag: loaded.etag, version: config ? config.version : 0, content: config ? content(config, config.settings) : null });
  const [review, setReview] = useState(false);
  const [conflict, setConflict] = useState(null);
  const [write, run] = useWrite();
  const host = useRef(null);
  const editor = useRef(null);
  const schemaRef = useRef(null);
  const round = useRef(0);
  const schema = schemas.find((item) => item.layout === fields.layout);
  schemaRef.current = schema ? schema.schema : null;

  useEffect(() => {
    editor.current = mountEditor(host.current, {
      text,
      label: "Settings (JSON)",
      readOnly: !canWrite,
      onChange: setText,
      getSchema: () => schemaRef.current,
    });
    return () => editor.current.view.destroy();
  }, []);

  // Checked as you type: the JSON here, then the API's dry run, the latest edit winning.
  useEffect(() => {
    const syntax = syntaxError(text);
    if (syntax) {
      const problems = [{ pos: syntax.pos, field: "settings", message: `JSON syntax error at ${syntax.message}` }];
      setCheck({ phase: "syntax", problems });
      editor.current && editor.current.show(problems);
      return undefined;
    }
    if (!canWrite) return undefined;
    const mine = ++round.current;
    setCheck((previous) => ({ ...previous, phase: "checking" }));
    const timer = setTimeout(async () => {
      const settings = JSON.parse(text);
      const body = config ? content(fields, settings) : { site: site.site, page: fields.page, ...content(fields, settings) };
      let found;
      try {
        await call(config ? "PUT" : "POST", config ? `metadata/${enc(config.id)}?dryRun=true` : "metadata?dryRun=true", { body });
        found = { phase: "valid", problems: [] };
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const details = error.details.length ? error.details : [{ field: "", message: error.message }];
        found = {
          phase: "invalid",
          problems: details.map((detail) => ({ field: String(detail.field || "").replace(/\./g, "/"), message: detail.message })),
        };
      }
      if (mine !== round.current) return;
      setCheck(found);
      editor.current.show(
        found.problems
          .filter((problem) => problem.field === "settings" || problem.field.startsWith("settings/"))
          .map((problem) => ({ pointer: problem.field.replace(/^settings\/?/, ""), message: problem.message })),
      );
    }, CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, fields.layout, fields.theme, fields.page]);

  const fieldError = (name) => check.problems.filter((problem) => problem.field === name).map((problem) => problem.message).join("; ") || null;
  const settingsProblems = check.problems.filter((problem) => problem.field === "settings" || problem.field.startsWith("settings/") || !["page", "layout", "theme", "site"].includes(problem.field));
  const parsed = check.phase === "syntax" ? null : (() => { try { return JSON.parse(text); } catch { return null; } })();
  const mine = parsed === null ? null : content(fields, parsed);

  const save = async () => {
    const headers = config ? { "If-Match": base.etag } : {};
    const body = config ? mine : { site: site.site, page: fields.page, ...mine };
    const label = config ? (site.publishMode === "review" ? "Saving the draft" : "Saving") : `Creating page ${fields.page}`;
    const done = await run(label, config ? "PUT" : "POST", config ? `metadata/${enc(config.id)}` : "metadata", { body, headers });
    if (!done) {
      if (config) await maybeConflict();
      return;
    }
    if (done.status === "succeeded") {
      setReview(false);
      onSaved(done.resourceId || (done.answer && done.answer.id));
    }
  };

  // 412: someone saved first. Show what they changed since the version this edit started from.
  const maybeConflict = async () => {
    try {
      const latest = await call("GET", `metadata/${enc(config.id)}/draft`);
      if (latest.headers.get("ETag") === base.etag) return;
      const diff = await get(`metadata/${enc(config.id)}/diff${query({ from: base.version, to: latest.body.version })}`);
      setConflict({ latest: latest.body, etag: latest.headers.get("ETag"), changes: diff.changes });
    } catch (error) {
      setConflict({ error });
    }
  };
  const takeTheirs = () => {
    const latest = conflict.latest;
    setFields({ ...fields, layout: latest.layout, theme: latest.theme });
    editor.current.replace(JSON.stringify(latest.settings, null, 2));
    setBase({ etag: conflict.etag, version: latest.version, content: content(latest, latest.settings) });
    setConflict(null);
  };
  const keepMine = () => {
    const latest = conflict.latest;
    setBase({ etag: conflict.etag, version: latest.version, content: content(latest, latest.settings) });
    setConflict(null);
  };

  const set = (name) => (event) => setFields({ ...fields, [name]: event.currentTarget.value });
  const layouts = schemas.map((item) => item.layout);
  const canSave = canWrite && check.phase === "valid" && !conflict;
  return html`<div class="editor-screen">
    ${!config && html`<${Field} label="Page slug" hint="a-z, 0-9, '.', '_' and '-'; it never changes" error=${fieldError("page")}>
      ${(id, describedBy) => html`<input id=${id} name="page" required value=${fields.page} onInput=${set("page")} aria-describedby=${describedBy} aria-invalid=${fieldError("page") ? "true" : undefined} />`}
    <//>`}
    <div class="row">
      <${Field} label="Layout" hint=${layouts.length ? "the layouts this site has schemas for" : "the site has no schemas: any template name"} error=${fieldError("layout")}>
        ${(id, describedBy) =>
          layouts.length
            ? html`<select id=${id} name="layout" value=${fields.layout} onChange=${set("layout")} disabled=${!canWrite} aria-describedby=${describedBy}>
                ${!layouts.includes(fields.layout) && html`<option value=${fields.layout}>${fields.layout || "(choose)"}</option>`}
                ${layouts.map((layout) => html`<option value=${layout}>${layout}</option>`)}
              </select>`
            : html`<input id=${id} name="layout" value=${fields.layout} onInput=${set("layout")} readonly=${!canWrite} aria-describedby=${describedBy} />`}
      <//>
      <${Field} label="Theme" hint=${loaded.themes.length ? "the themes the site's pages use, or another" : ""} error=${fieldError("theme")}>
        ${(id, describedBy) => html`<input id=${id} name="theme" list="themes" value=${fields.theme} onInput=${set("theme")} readonly=${!canWrite} aria-describedby=${describedBy} />
          <datalist id="themes">${loaded.themes.map((theme) => html`<option value=${theme} />`)}</datalist>`}
      <//>
    </div>
    <div class="field">
      <span class="label" id="settings-label">Settings (JSON)${schema ? `, checked against the schema of ${schema.layout} (version ${schema.version})` : ""}</span>
      <div class="code" ref=${host}></div>
      <small id="settings-help">Ctrl-Space completes from the layout's schema. Tab indents; press Escape, then Tab, to leave the editor.</small>
    </div>
    <${CheckStatus} check=${check} canWrite=${canWrite} onReveal=${(problem) => editor.current.reveal(problem)} problems=${settingsProblems} />
    ${conflict && html`<${Conflict} conflict=${conflict} onTheirs=${takeTheirs} onMine=${keepMine} />`}
    ${canWrite &&
    html`<div class="actions">
      <button type="button" onClick=${() => setReview(!review)} disabled=${!mine} aria-expanded=${review ? "true" : "false"} aria-controls="review">Review changes</button>
      <button type="button" class="primary" onClick=${save} disabled=${!canSave}>${config ? (site.publishMode === "review" ? "Save draft" : "Save and publish") : "Create page"}</button>
    </div>`}
    ${review && mine &&
    html`<div id="review" class="card">
      <${Changes} items=${changes(published ? content(published.config, published.config.settings) : {}, mine)} caption=${published ? `Against the published version ${published.config.version}` : "Against nothing published yet"} />
      ${base.content && base.version !== (published && published.config.version) && html`<${Changes} items=${changes(base.content, mine)} caption=${`Against the version you started from (${base.version})`} />`}
    </div>`}
    <${Progress} state=${write} />
    ${config && canWrite && html`<${PublishPanel} loaded=${loaded} onDone=${onSaved} />`}
  </div>`;
}

function CheckStatus({ check, canWrite, problems, onReveal }) {
  const words = {
    idle: canWrite ? "" : "Read only: your token cannot change configs.",
    checking: "Checking…",
    valid: "Valid: the API would accept it.",
    syntax: "The JSON does not parse.",
    invalid: "The API would refuse it:",
  };
  return html`<div class=${`check check-${check.phase}`} role="status" aria-live="polite" data-phase=${check.phase}>
    <p>${words[check.phase]}</p>
    ${problems.length > 0 &&
    html`<ul class="problems">
      ${problems.map(
        (problem) => html`<li>
          ${problem.field.startsWith("settings")
            ? html`<button type="button" class="link" onClick=${() => onReveal(problem.pos !== undefined ? problem : { pointer: problem.field.replace(/^settings\/?/, "") })}><code>${problem.field}</code></button>`
            : problem.field && html`<code>${problem.field}</code>`}
          ${" "}${problem.message}
        </li>`,
      )}
    </ul>`}
  </div>`;
}

function Conflict({ conflict, onTheirs, onMine }) {
  if (conflict.error) return html`<div class="card conflict" role="alert"><p>Someone else saved first, and their version could not be read: ${describeError(conflict.error)}</p></div>`;
  return html`<div class="card conflict" role="alert">
    <h2>Someone else saved first</h2>
    <p>Version ${conflict.latest.version} was saved while you edited. What it changed:</p>
    <${Changes} items=${conflict.changes} caption="Their changes" />
    <div class="actions">
      <button type="button" onClick=${onTheirs}>Reload their version (drop my edits)</button>
      <button type="button" onClick=${onMine}>Keep my edits over theirs</button>
    </div>
  </div>`;
}

/** Publishing the latest version (or a rollback, from the history), with the API's diff first. */
export function PublishPanel({ loaded, version, onDone }) {
  const { config, published, site } = loaded;
  const target = version || config.version;
  const [diff, setDiff] = useState(null);
  const [write, run] = useWrite();
  // Once published, what was done stays said.
  if (!version && published && published.config.version === config.version) return html`<${Progress} state=${write} />`;
  if (site.requiredApprovals > 0)
    return html`<p class="note">This site requires ${site.requiredApprovals} approval(s): publish through a <a href=${`#/sites/${enc(site.site)}/releases`}>release</a>.</p>`;
  const show = async () => {
    try {
      setDiff({ changes: (await get(`metadata/${enc(config.id)}/diff${query({ from: published ? "published" : undefined, to: target })}`)).changes });
    } catch (error) {
      setDiff({ error });
    }
  };
  const publish = async () => {
    const headers = published ? { "If-Match": published.etag } : {};
    const done = await run(`Publishing version ${target}`, "POST", `metadata/${enc(config.id)}/publish`, { body: { version: target }, headers });
    if (done && done.status === "succeeded") onDone();
  };
  const label = published && target < published.config.version ? `Roll back to version ${target}` : `Publish version ${target}`;
  return html`<div class="card publish">
    ${!diff && html`<button type="button" onClick=${show}>${label}…</button>`}
    ${diff && diff.error && html`<p class="error">${describeError(diff.error)}</p>`}
    ${diff && diff.changes && html`<${Changes} items=${diff.changes} caption=${`What the page changes to (version ${target} against ${published ? `version ${published.config.version}` : "nothing published"})`} />
      <div class="actions"><button type="button" class="primary" onClick=${publish}>Confirm: ${label.toLowerCase()}</button><button type="button" onClick=${() => setDiff(null)}>Not now</button></div>`}
    <${Progress} state=${write} />
  </div>`;
}
