// A static build's step: every page's render config of one site, written to disk as
// `<out>/<page>.json`, with the client's getSiteBundle. The first run fetches the whole
// site in one request (the bundle); later runs revalidate with the manifest, so an
// unchanged site costs one request answered 304, and a change fetches only the pages
// that changed. Pages the site no longer serves are removed from <out>.
//
//   node examples/static-build/build.mjs --api http://127.0.0.1:8000 --site acme-store --out build/acme-store
//
// Exit status: 0 when written, 1 when the API could not be reached or the site is
// unknown (the message says which), 2 for a usage error.

import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { getSiteBundle } from '../../frontend/render-config.js';

// What the last run fetched, kept beside the pages so the next run can revalidate it.
const STATE_FILE = '.site-bundle.json';
const PAGE_FILE = /^[a-z0-9][a-z0-9._-]{0,127}\.json$/;

function usage(message) {
  console.error(`${message}\nusage: node examples/static-build/build.mjs --api URL --site SLUG --out DIR`);
  process.exit(2);
}

async function readState(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null; // none yet, or unreadable: fetch everything
  }
}

async function writeAtomically(file, text) {
  const partial = `${file}.partial`;
  await writeFile(partial, text);
  await rename(partial, file);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { api: { type: 'string' }, site: { type: 'string' }, out: { type: 'string' } } }));
  } catch (error) {
    usage(error.message);
  }
  const { api, site, out } = values;
  if (!api || !site || !out) usage('--api, --site and --out are all needed');

  await mkdir(out, { recursive: true });
  const stateFile = path.join(out, STATE_FILE);
  const previous = await readState(stateFile);
  let bundle;
  try {
    bundle = await getSiteBundle({ apiBase: api, site, previous });
  } catch (error) {
    console.error(`${site}: ${error.code ?? 'Error'}: ${error.message}`);
    process.exit(1);
  }

  for (const page of bundle.fetched) {
    await writeAtomically(path.join(out, `${page}.json`), `${JSON.stringify(bundle.pages[page].config, null, 2)}\n`);
  }
  // Written before: a page the site no longer serves is removed, one missing is written again.
  const onDisk = new Set((await readdir(out)).filter((name) => PAGE_FILE.test(name)));
  for (const name of onDisk) {
    if (!bundle.pages[name.slice(0, -'.json'.length)]) await rm(path.join(out, name));
  }
  for (const page of Object.keys(bundle.pages)) {
    if (!onDisk.has(`${page}.json`) && !bundle.fetched.includes(page)) {
      await writeAtomically(path.join(out, `${page}.json`), `${JSON.stringify(bundle.pages[page].config, null, 2)}\n`);
    }
  }
  await writeAtomically(stateFile, JSON.stringify(bundle));

  const pages = Object.keys(bundle.pages).length;
  console.log(
    `${site}: ${pages} page(s) in ${out}; ${bundle.source}, ${bundle.fetched.length} fetched, ` +
      `${bundle.requests} request(s)`,
  );
}

await main();
