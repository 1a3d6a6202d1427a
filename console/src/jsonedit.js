// The settings editor: CodeMirror 6 with JSON, syntax errors at their line and column,
// the API's schema errors at the field they name, and completion from the layout's schema.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { json, jsonLanguage } from "@codemirror/lang-json";
import { syntaxTree, bracketMatching, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { lintGutter, setDiagnostics } from "@codemirror/lint";

const VALUES = new Set(["Object", "Array", "String", "Number", "True", "False", "Null"]);

function valueChildren(node) {
  const found = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (VALUES.has(child.name)) found.push(child);
  return found;
}

function propertyName(state, property) {
  const name = property.getChild("PropertyName");
  if (!name) return null;
  try {
    return JSON.parse(state.sliceDoc(name.from, name.to));
  } catch {
    return state.sliceDoc(name.from + 1, name.to - 1);
  }
}

function topValue(state) {
  const top = syntaxTree(state).topNode;
  return valueChildren(top)[0] || null;
}

/**
 * Where a JSON Pointer (without `settings/`, `/`-separated, `~1` and `~0` escaped) is in the
 * document: the property it names (its name and value), or the nearest existing parent.
 */
export function pointerRange(state, pointer) {
  let node = topValue(state);
  if (!node) return { from: 0, to: Math.min(1, state.doc.length) };
  let range = { from: node.from, to: node.from + 1 };
  const segments = pointer === "" ? [] : pointer.split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  for (const segment of segments) {
    let next = null;
    if (node.name === "Object") {
      for (let property = node.getChild("Property"); property; property = property.nextSibling) {
        if (property.name === "Property" && propertyName(state, property) === segment) {
          const values = valueChildren(property);
          next = values[0] || null;
          range = { from: property.from, to: property.to };
          break;
        }
      }
    } else if (node.name === "Array" && /^\d+$/.test(segment)) {
      next = valueChildren(node)[Number(segment)] || null;
      if (next) range = { from: next.from, to: next.to };
    }
    if (!next) break;
    node = next;
  }
  return range;
}

/** The path (property names and indexes) of the value or key at `pos`, and whether a key is expected there. */
export function pathAt(state, pos) {
  let node = syntaxTree(state).resolveInner(pos, -1);
  const atKey = node.name === "PropertyName" || node.name === "Object" || (node.name === "{" || node.name === ",") && node.parent && node.parent.name === "Object";
  const path = [];
  let child = node;
  for (let parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (parent.name === "Property" && child.name !== "PropertyName") {
      const name = propertyName(state, parent);
      if (name !== null) path.unshift(name);
    } else if (parent.name === "Array" && VALUES.has(child.name)) {
      path.unshift(valueChildren(parent).findIndex((value) => value.from === child.from));
    }
  }
  let objectNode = node.name === "Object" ? node : node.name === "PropertyName" ? node.parent.parent : node.parent && node.parent.name === "Object" ? node.parent : null;
  return { path, atKey, node, objectNode };
}

function resolveRef(root, schema) {
  let current = schema;
  for (let hops = 0; current && current.$ref && hops < 20; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#")) return {};
    current = ref
      .slice(1)
      .split("/")
      .filter(Boolean)
      .reduce((at, part) => (at ? at[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);
  }
  if (!current || typeof current !== "object") return {};
  if (Array.isArray(current.allOf)) {
    return current.allOf.reduce(
      (merged, part) => {
        const resolved = resolveRef(root, part);
        return { ...resolved, ...merged, properties: { ...(resolved.properties || {}), ...(merged.properties || {}) } };
      },
      { ...current },
    );
  }
  return current;
}

/** The part of `schema` that describes the value at `path`. */
export function subschema(schema, path) {
  let current = resolveRef(schema, schema);
  for (const segment of path) {
    if (typeof segment === "number") {
      const items = Array.isArray(current.prefixItems) && current.prefixItems[segment] ? current.prefixItems[segment] : current.items;
      current = resolveRef(schema, items || {});
    } else {
      const properties = current.properties || {};
      current = resolveRef(schema, properties[segment] || (typeof current.additionalProperties === "object" ? current.additionalProperties : {}));
    }
  }
  return current;
}

function describe(schema) {
  return [schema.type && `${[].concat(schema.type).join(" | ")}`, schema.description].filter(Boolean).join(": ");
}

function schemaCompletion(getSchema) {
  return (context) => {
    const schema = getSchema();
    if (!schema) return null;
    const { path, atKey, node, objectNode } = pathAt(context.state, context.pos);
    if (atKey) {
      const target = subschema(schema, path);
      const properties = target.properties || {};
      const present = new Set();
      if (objectNode) {
        for (let property = objectNode.getChild("Property"); property; property = property.nextSibling) {
          const name = property.name === "Property" ? propertyName(context.state, property) : null;
          if (name !== null && !(node.name === "PropertyName" && property.from === node.parent.from)) present.add(name);
        }
      }
      const options = Object.entries(properties)
        .filter(([name]) => !present.has(name))
        .map(([name, sub]) => ({
          label: name,
          type: "property",
          detail: (target.required || []).includes(name) ? "required" : undefined,
          info: describe(resolveRef(schema, sub)) || undefined,
          apply: node.name === "PropertyName" ? JSON.stringify(name) : `${JSON.stringify(name)}: `,
        }));
      const from = node.name === "PropertyName" ? node.from : context.pos;
      return options.length ? { from, options, validFor: /^"?[\w$-]*"?$/ } : null;
    }
    const target = subschema(schema, path);
    const choices = target.enum || (target.const !== undefined ? [target.const] : target.type === "boolean" ? [true, false] : []);
    if (!choices.length) return null;
    const replacing = VALUES.has(node.name) && node.name !== "Object" && node.name !== "Array";
    return {
      from: replacing ? node.from : context.pos,
      to: replacing ? node.to : context.pos,
      options: choices.map((choice) => ({ label: JSON.stringify(choice), type: "enum", info: describe(target) || undefined })),
    };
  };
}

/** Where the JSON parser (Lezer's) first found something wrong in `text`, or null. */
function firstErrorAt(text) {
  let found = null;
  jsonLanguage.parser.parse(text).iterate({
    enter(node) {
      if (found === null && node.type.isError) found = node.from;
      return found === null;
    },
  });
  return found;
}

/** Where a JSON.parse error is, as {pos, line, column, message}; null when the text parses. */
export function syntaxError(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const message = String(error.message);
    // V8 names the position for most errors, not all ("Unexpected token"): then the
    // editor's own parser says where.
    const position = /at position (\d+)/.exec(message);
    let pos = position ? Number(position[1]) : firstErrorAt(text);
    pos = Math.max(0, Math.min(pos === null ? text.length : pos, text.length));
    const before = text.slice(0, pos).split("\n");
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, "")
      .replace(/, ".*" is not valid JSON$/s, "")
      .replace(/\s*\(line \d+ column \d+\)$/, "");
    return { pos, line, column, message: `line ${line}, column ${column}: ${reason}` };
  }
}

// The editor's own look, on top of CodeMirror's: its styles go into the shadow root as
// constructed stylesheets, which the console's Content-Security-Policy allows (a <style>
// element in the document it would refuse).
const look = EditorView.theme({
  "&": { minHeight: "12rem", maxHeight: "28rem", backgroundColor: "#fff", color: "#1b1f24" },
  "&.cm-focused": { outline: "3px solid #ff9e1b", outlineOffset: "2px" },
  ".cm-scroller": { overflow: "auto", fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", lineHeight: "1.5" },
  ".cm-gutters": { backgroundColor: "#f3f5f7", color: "#4a5560", borderRight: "1px solid #c9d1d9" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "#0b57b0", color: "#fff" },
});

/**
 * Mounts an editor in `parent`, inside a shadow root of its own (see `look`). `onChange(text)` hears every edit; `getSchema()` is the
 * layout's schema (or null). Answers the view and `show(problems)` that marks errors:
 * [{pointer | pos, message}].
 */
export function mountEditor(parent, { text, onChange, getSchema, label, readOnly = false }) {
  const root = parent.shadowRoot || parent.attachShadow({ mode: "open" });
  root.replaceChildren();
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        closeBrackets(),
        indentOnInput(),
        syntaxHighlighting(defaultHighlightStyle),
        json(),
        look,
        lintGutter(),
        autocompletion({ override: [schemaCompletion(getSchema)] }),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true", tabindex: "0" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  const show = (problems) => {
    const length = view.state.doc.length;
    const diagnostics = problems.map((problem) => {
      const range = problem.pos !== undefined ? { from: problem.pos, to: Math.min(problem.pos + 1, length) } : pointerRange(view.state, problem.pointer);
      const from = Math.min(range.from, length);
      return { from, to: Math.max(from, Math.min(range.to, length)), severity: "error", message: problem.message };
    });
    view.dispatch(setDiagnostics(view.state, diagnostics));
  };
  const reveal = (problem) => {
    const range = problem.pos !== undefined ? { from: problem.pos, to: problem.pos } : pointerRange(view.state, problem.pointer);
    view.dispatch({ selection: { anchor: Math.min(range.from, view.state.doc.length) }, scrollIntoView: true });
    view.focus();
  };
  const replace = (next) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
  return { view, show, reveal, replace };
}
