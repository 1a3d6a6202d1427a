// The settings editor's logic, without a browser: where a JSON Pointer is in the text,
// what is expected at the cursor, which part of a schema applies there, where a syntax
// error is, and what changed between two values (`node --test console/test/`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EditorState } from "@codemirror/state";
import { json } from "@codemirror/lang-json";
import { ensureSyntaxTree } from "@codemirror/language";
import { pathAt, pointerRange, subschema, syntaxError } from "../src/jsonedit.js";
import { changes } from "../src/diff.js";

function state(doc) {
  const made = EditorState.create({ doc, extensions: [json()] });
  ensureSyntaxTree(made, made.doc.length, 5000);
  return made;
}

const text = (made, range) => made.sliceDoc(range.from, range.to);

test("a pointer names the property, through objects and arrays", () => {
  const made = state('{"hero": {"title": 42, "links": [{"href": "a"}, {"href": 7}]}, "a/b": 1}');
  assert.equal(text(made, pointerRange(made, "hero/title")), '"title": 42');
  assert.equal(text(made, pointerRange(made, "hero/links/1/href")), '"href": 7');
  assert.equal(text(made, pointerRange(made, "hero/links/1")), '{"href": 7}');
  assert.equal(text(made, pointerRange(made, "a~1b")), '"a/b": 1');
});

test("a pointer to what is missing falls back to the nearest parent there is", () => {
  const made = state('{"hero": {"subtitle": "x"}}');
  assert.equal(text(made, pointerRange(made, "hero/title")), '"hero": {"subtitle": "x"}');
  assert.deepEqual(pointerRange(made, "nothing/here"), { from: 0, to: 1 });
  assert.deepEqual(pointerRange(made, ""), { from: 0, to: 1 });
});

test("the cursor's path says whether a key or a value is expected", () => {
  const doc = '{"hero": {"title": "x", }, "dark": tr}';
  const made = state(doc);
  const key = pathAt(made, doc.indexOf(", }") + 2);
  assert.deepEqual(key.path, ["hero"]);
  assert.equal(key.atKey, true);
  const value = pathAt(made, doc.indexOf("tr") + 2);
  assert.deepEqual(value.path, ["dark"]);
  assert.equal(value.atKey, false);
});

test("the schema at a path follows properties, items, local $refs and allOf", () => {
  const schema = {
    $defs: { link: { type: "object", properties: { href: { type: "string", description: "where" } } } },
    type: "object",
    properties: {
      links: { type: "array", items: { $ref: "#/$defs/link" } },
      hero: { allOf: [{ properties: { title: { type: "string" } } }, { properties: { dark: { type: "boolean" } } }] },
    },
  };
  assert.equal(subschema(schema, ["links", 3, "href"]).description, "where");
  assert.deepEqual(Object.keys(subschema(schema, ["hero"]).properties).sort(), ["dark", "title"]);
  assert.deepEqual(subschema(schema, ["nowhere"]), {});
  assert.deepEqual(subschema({ $ref: "https://elsewhere.example/schema.json" }, []), {});
});

test("a syntax error is placed at its line and column", () => {
  assert.equal(syntaxError('{"a": 1}'), null);
  const found = syntaxError('{\n  "a": 1,\n  "b": tru\n}');
  assert.equal(found.line, 3);
  assert.equal(found.column, 8);
  assert.match(found.message, /^line 3, column 8: /);
  const unfinished = syntaxError('{"a": ');
  assert.equal(unfinished.line, 1);
});

test("changes name each field that was added, removed or changed", () => {
  const before = { layout: "hero", settings: { title: "Hello", tags: ["a"], old: 1 } };
  const after = { layout: "hero", settings: { title: "Bye", tags: ["a", "b"], "new/key": true } };
  assert.deepEqual(changes(before, after), [
    { field: "settings/title", change: "changed", before: "Hello", after: "Bye" },
    { field: "settings/tags", change: "changed", before: ["a"], after: ["a", "b"] },
    { field: "settings/old", change: "removed", before: 1 },
    { field: "settings/new~1key", change: "added", after: true },
  ]);
  assert.deepEqual(changes(before, before), []);
});
