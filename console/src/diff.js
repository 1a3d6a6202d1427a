// What changed between two JSON values, field by field (`settings/hero/title`), as the
// API's diff route reports it, and a table that shows it.
import { html } from "./html.js";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const escape = (key) => String(key).replace(/~/g, "~0").replace(/\//g, "~1");

export function changes(before, after, field = "") {
  const at = (key) => (field ? `${field}/${escape(key)}` : escape(key));
  if (isObject(before) && isObject(after)) {
    const found = [];
    for (const key of Object.keys(before)) {
      if (!(key in after)) found.push({ field: at(key), change: "removed", before: before[key] });
      else found.push(...changes(before[key], after[key], at(key)));
    }
    for (const key of Object.keys(after)) if (!(key in before)) found.push({ field: at(key), change: "added", after: after[key] });
    return found;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined) return [{ field, change: "added", after }];
  if (after === undefined) return [{ field, change: "removed", before }];
  return [{ field, change: "changed", before, after }];
}

const shown = (value) => (value === undefined ? "" : JSON.stringify(value));

/** A table of changes; `caption` says between what. */
export function Changes({ items, caption }) {
  if (!items) return null;
  if (!items.length) return html`<p class="diff-none">${caption}: no change.</p>`;
  return html`<table class="diff">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">field</th><th scope="col">change</th><th scope="col">before</th><th scope="col">after</th></tr></thead>
    <tbody>
      ${items.map(
        (item) => html`<tr class=${`change-${item.change}`}>
          <td><code>${item.field || "(whole)"}</code></td>
          <td>${item.change}${item.source ? ` from ${item.source}` : ""}</td>
          <td><code class="before">${shown(item.before)}</code></td>
          <td><code class="after">${shown(item.after)}</code></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
