// Sites: the list, creating one, a site's settings, and its pages.
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { get, query } from "./api.js";
import { Field, LoadState, Pager, Time, Title, enc, useCan, useLoad, usePager } from "./ui.js";
import { Progress, useWrite } from "./writes.js";
import { ReleasesTab } from "./releases.js";
import { SchemasTab } from "./schemas.js";
import { AuditLog, WebhooksTab } from "./admin.js";

const SITE_SLUG = "^[a-z0-9][a-z0-9\\-]{0,62}$";

export function SiteList() {
  const pager = usePager();
  const sites = useLoad(() => get(`sites${query({ limit: 20, cursor: pager.cursor })}`), [pager.cursor]);
  const canAdmin = useCan("admin");
  return html`<section>
    <${Title}>Sites<//>
    <${LoadState} state=${sites} what="the sites" />
    ${sites.data &&
    html`<table class="list">
        <caption>Every site, by slug</caption>
        <thead><tr><th scope="col">site</th><th scope="col">name</th><th scope="col">publishing</th><th scope="col">approvals</th><th scope="col">updated</th></tr></thead>
        <tbody>
          ${sites.data.items.map(
            (site) => html`<tr>
              <td><a href=${`#/sites/${enc(site.site)}`}>${site.site}</a></td>
              <td>${site.name}</td>
              <td>${site.publishMode}</td>
              <td>${site.requiredApprovals}</td>
              <td><${Time} value=${site.updatedAt} /></td>
            </tr>`,
          )}
          ${!sites.data.items.length && html`<tr><td colspan="5">No site yet.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${sites.data.nextCursor} label="Sites" />`}
    ${canAdmin && html`<${SiteForm} onDone=${sites.reload} />`}
  </section>`;
}

const origins = (text) => text.split(/[\s,]+/).map((line) => line.trim()).filter(Boolean);

/** Creates a site (no `site` given) or edits one. */
export function SiteForm({ site, onDone }) {
  const [fields, setFields] = useState({
    slug: site ? site.site : "",
    name: site ? site.name : "",
    origins: site ? site.allowedOrigins.join("\n") : "",
    cacheMaxAge: site ? String(site.cacheMaxAge) : "60",
    publishMode: site ? site.publishMode : "direct",
    requiredApprovals: site ? String(site.requiredApprovals) : "0",
    requireSchemas: site ? site.requireSchemas : false,
  });
  const [write, run] = useWrite();
  const set = (name) => (event) =>
    setFields({ ...fields, [name]: event.currentTarget.type === "checkbox" ? event.currentTarget.checked : event.currentTarget.value });
  const problems = {};
  for (const detail of (write && write.error && write.error.details) || []) problems[String(detail.field).split(/[./]/)[0]] = detail.message;
  const submit = async (event) => {
    event.preventDefault();
    const body = {
      name: fields.name,
      allowedOrigins: origins(fields.origins),
      cacheMaxAge: Number(fields.cacheMaxAge),
      publishMode: fields.publishMode,
      requiredApprovals: Number(fields.requiredApprovals),
      requireSchemas: fields.requireSchemas,
    };
    const done = await run(site ? `Saving site ${fields.slug}` : `Creating site ${fields.slug}`, "PUT", `sites/${enc(fields.slug)}`, { body });
    if (done && done.status === "succeeded" && onDone) onDone();
  };
  const input = (name, type = "text", extra = {}) => (id, describedBy) =>
    html`<input id=${id} name=${name} type=${type} value=${fields[name]} onInput=${set(name)} aria-describedby=${describedBy}
      aria-invalid=${problems[name] ? "true" : undefined} ...${extra} />`;
  return html`<form class="card" onSubmit=${submit} aria-label=${site ? "Site settings" : "Create a site"}>
    <h2>${site ? "Settings" : "Create a site"}</h2>
    ${!site && html`<${Field} label="Slug" hint="a-z, 0-9 and -, up to 63 characters; it never changes" error=${problems.site}>${input("slug", "text", { required: true, pattern: SITE_SLUG })}<//>`}
    <${Field} label="Name" error=${problems.name}>${input("name", "text", { required: true })}<//>
    <${Field} label="Allowed origins" hint="one per line, like https://www.example.com: browsers on these may read the pages" error=${problems.allowedOrigins}>
      ${(id, describedBy) => html`<textarea id=${id} name="origins" rows="3" onInput=${set("origins")} aria-describedby=${describedBy}>${fields.origins}</textarea>`}
    <//>
    <${Field} label="Cache age (seconds)" hint="how long browsers and CDNs keep a page's config" error=${problems.cacheMaxAge}>${input("cacheMaxAge", "number", { min: 0, required: true })}<//>
    <${Field} label="Publish mode" hint="direct: a saved config is live; review: it is a draft until published" error=${problems.publishMode}>
      ${(id, describedBy) => html`<select id=${id} name="publishMode" value=${fields.publishMode} onChange=${set("publishMode")} aria-describedby=${describedBy}>
        <option value="direct">direct</option><option value="review">review</option>
      </select>`}
    <//>
    <${Field} label="Required approvals" hint="0 to 3: approvals a release needs; above 0, pages are published through releases only" error=${problems.requiredApprovals}>${input("requiredApprovals", "number", { min: 0, max: 3, required: true })}<//>
    <div class="field check">
      <input id=${`require-schemas-${fields.slug || "new"}`} type="checkbox" checked=${fields.requireSchemas} onChange=${set("requireSchemas")} />
      <label for=${`require-schemas-${fields.slug || "new"}`}>Require schemas (refuse configs whose layout has none)</label>
    </div>
    <button type="submit">${site ? "Save settings" : "Create site"}</button>
    <${Progress} state=${write} />
  </form>`;
}

const TABS = [
  ["pages", "Pages", "read"],
  ["releases", "Releases", "read"],
  ["schemas", "Schemas", "read"],
  ["audit", "Audit log", "admin"],
  ["webhooks", "Webhooks", "admin"],
  ["settings", "Settings", "read"],
];

export function SiteScreen({ site, tab, rest }) {
  const loaded = useLoad(() => get(`sites/${enc(site)}`), [site]);
  const canAdmin = useCan("admin");
  const shown = TABS.filter(([, , scope]) => scope !== "admin" || canAdmin);
  return html`<section>
    <p class="crumbs"><a href="#/">Sites</a> / ${site}</p>
    <${Title}>${loaded.data ? loaded.data.name : site} <span class="muted">(${site})</span><//>
    <${LoadState} state=${loaded} what="the site" />
    <nav class="tabs" aria-label="Site">
      ${shown.map(([name, label]) => html`<a href=${`#/sites/${enc(site)}/${name}`} aria-current=${tab === name ? "page" : undefined}>${label}</a>`)}
    </nav>
    ${loaded.data && tab === "pages" && html`<${PagesTab} site=${loaded.data} />`}
    ${loaded.data && tab === "releases" && html`<${ReleasesTab} site=${loaded.data} release=${rest[0]} />`}
    ${loaded.data && tab === "schemas" && html`<${SchemasTab} site=${loaded.data} layout=${rest.join("/") || null} />`}
    ${loaded.data && tab === "audit" && canAdmin && html`<${AuditLog} site=${site} />`}
    ${loaded.data && tab === "webhooks" && canAdmin && html`<${WebhooksTab} site=${site} name=${rest[0]} />`}
    ${loaded.data && tab === "settings" && html`<${SiteSettings} site=${loaded.data} onDone=${loaded.reload} />`}
  </section>`;
}

function SiteSettings({ site, onDone }) {
  const canAdmin = useCan("admin");
  if (canAdmin) return html`<${SiteForm} site=${site} onDone=${onDone} key=${site.version} />`;
  return html`<dl class="facts">
    <dt>Allowed origins</dt><dd>${site.allowedOrigins.join(", ") || "none"}</dd>
    <dt>Cache age</dt><dd>${site.cacheMaxAge} s</dd>
    <dt>Publish mode</dt><dd>${site.publishMode}</dd>
    <dt>Required approvals</dt><dd>${site.requiredApprovals}</dd>
    <dt>Require schemas</dt><dd>${site.requireSchemas ? "yes" : "no"}</dd>
  </dl>`;
}

/** Who wrote each listed config's latest version: one small read each, side by side. */
function useEditors(items) {
  const [editors, setEditors] = useState({});
  useEffect(() => {
    let current = true;
    for (const item of items || []) {
      get(`metadata/${enc(item.id)}/versions?limit=1`).then(
        (page) => current && page.items[0] && setEditors((known) => ({ ...known, [item.id]: page.items[0].actor })),
        () => {},
      );
    }
    return () => {
      current = false;
    };
  }, [items]);
  return editors;
}

export function draftState(config) {
  if (config.publishedVersion == null) return "not published";
  if (config.version > config.publishedVersion) return `draft ahead (version ${config.version})`;
  return "published";
}

function PagesTab({ site }) {
  const pager = usePager();
  const [limit, setLimit] = useState("20");
  const [filter, setFilter] = useState("");
  const pages = useLoad(() => get(`metadata${query({ site: site.site, limit, cursor: pager.cursor })}`), [site.site, limit, pager.cursor]);
  const editors = useEditors(pages.data && pages.data.items);
  const canWrite = useCan("write");
  const items = pages.data ? pages.data.items.filter((item) => item.page.includes(filter.trim())) : [];
  return html`<section aria-labelledby="pages-heading">
    <h2 id="pages-heading">Pages</h2>
    ${canWrite && html`<p><a class="button" href=${`#/sites/${enc(site.site)}/new`}>New page</a></p>`}
    <div class="filters">
      <${Field} label="Filter pages" hint="pages of this list whose slug contains this">
        ${(id, describedBy) => html`<input id=${id} type="search" value=${filter} aria-describedby=${describedBy} onInput=${(event) => setFilter(event.currentTarget.value)} />`}
      <//>
      <${Field} label="Pages per list">
        ${(id) => html`<select id=${id} value=${limit} onChange=${(event) => {
          setLimit(event.currentTarget.value);
          pager.reset();
        }}><option>10</option><option>20</option><option>50</option><option>100</option></select>`}
      <//>
    </div>
    <${LoadState} state=${pages} what="the pages" />
    ${pages.data &&
    html`<table class="list">
        <caption>Pages of ${site.site}</caption>
        <thead><tr><th scope="col">page</th><th scope="col">layout</th><th scope="col">published version</th><th scope="col">draft</th><th scope="col">last editor</th><th scope="col">updated</th></tr></thead>
        <tbody>
          ${items.map(
            (config) => html`<tr data-page=${config.page}>
              <td><a href=${`#/configs/${enc(config.id)}`}>${config.page}</a></td>
              <td>${config.layout} / ${config.theme}</td>
              <td>${config.publishedVersion == null ? "none" : config.publishedVersion}</td>
              <td class="draft-state">${draftState(config)}</td>
              <td>${editors[config.id] || ""}</td>
              <td><${Time} value=${config.updatedAt} /></td>
            </tr>`,
          )}
          ${!items.length && html`<tr><td colspan="6">No page${filter ? " matches" : " yet"}.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${pages.data.nextCursor} label="Pages" />`}
  </section>`;
}
