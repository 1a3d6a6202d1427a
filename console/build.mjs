// Builds the console into chalicelib/console/assets/ (which the API serves and the Lambda
// package carries): one script and one stylesheet, minified, each named with a hash of its
// content, and manifest.json naming them for the page. Old builds are removed.
import { build } from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "chalicelib", "console", "assets");

mkdirSync(out, { recursive: true });
for (const name of readdirSync(out)) rmSync(join(out, name));

const result = await build({
  entryPoints: { console: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  charset: "ascii",
  legalComments: "none",
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
if (!script || !style) throw new Error(`the build made ${outputs.join(", ")}: a script and a stylesheet expected`);
writeFileSync(join(out, "manifest.json"), JSON.stringify({ script, style }, null, 2) + "\n");
console.log(`console: built ${script} and ${style}`);
