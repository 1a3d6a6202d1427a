// An example site: renders one page from its render config. `?api=`, `?site=` and
// `?page=` pick the config (defaults: the local stack and the example seed's home page).
// Every value of the config is put in the page as text, never as HTML.

import { getRenderConfig, previewTokenFrom } from '../../frontend/render-config.js';

const params = new URLSearchParams(window.location.search);
const apiBase = params.get('api') || 'http://127.0.0.1:8000';
const site = params.get('site') || 'acme-store';
const page = params.get('page') || 'home';
// `?preview=mmp_…` (a preview link's token): the page's draft, with a banner saying so.
const previewToken = previewTokenFrom(window.location);

const THEMES = new Set(['light', 'dark']);

/** The page structures this site has templates for; a config names one by `layout`. */
function layoutOf(name) {
  if (name.startsWith('hero')) return 'hero';
  if (name.startsWith('two')) return 'two-column';
  return 'single';
}

/** Builds an element: `h('p', { class: 'x' }, 'text', child)`. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

function settingsList(settings) {
  const list = h('dl', { class: 'settings', id: 'settings' });
  for (const [name, value] of Object.entries(settings)) {
    list.append(h('dt', {}, name), h('dd', {}, typeof value === 'string' ? value : JSON.stringify(value)));
  }
  return list;
}

function cards(count) {
  const grid = h('section', { class: 'grid', id: 'grid' });
  for (let i = 1; i <= count; i += 1) {
    grid.append(h('article', { class: 'card' }, h('h3', {}, `Item ${i}`), h('p', {}, 'A product, a post, a teaser.')));
  }
  return grid;
}

function render(config) {
  const { settings } = config;
  const hero = typeof settings.hero === 'object' && settings.hero !== null ? settings.hero : {};
  const title = String(hero.title ?? settings.title ?? `${config.site} / ${config.page}`);
  const layout = layoutOf(config.layout);
  const intro = h('p', { class: 'intro' }, `Layout "${config.layout}", theme "${config.theme}".`);

  if (layout === 'hero') {
    const banner = h('section', { class: 'hero', id: 'hero' }, h('h1', { id: 'title' }, title), intro);
    if (hero.subtitle) banner.append(h('p', { class: 'subtitle' }, String(hero.subtitle)));
    const perRow = Number.isInteger(settings.productsPerRow) ? Math.min(Math.max(settings.productsPerRow, 1), 6) : 3;
    return [banner, cards(perRow), settingsList(settings)];
  }
  const article = h('article', { class: 'content' }, h('h1', { id: 'title' }, title), intro, settingsList(settings));
  if (layout === 'two-column') {
    const aside = h('aside', { class: 'sidebar', id: 'sidebar' }, h('h2', {}, 'On this site'));
    const links = Array.isArray(settings.sidebar) ? settings.sidebar : ['About', 'Archive', 'Contact'];
    aside.append(h('ul', {}, ...links.map((link) => h('li', {}, String(link)))));
    return [h('div', { class: 'columns' }, article, aside)];
  }
  return [article];
}

async function main() {
  const body = document.body;
  const container = document.getElementById('page');
  try {
    const result = await getRenderConfig({ apiBase, site, page, previewToken });
    const { config } = result;
    Object.assign(body.dataset, {
      layout: layoutOf(config.layout),
      theme: THEMES.has(config.theme) ? config.theme : 'light',
      source: result.source,
      version: String(config.version),
    });
    container.replaceChildren(...render(config));
    document.title = `${config.site} / ${config.page}`;
    document.getElementById('brand').textContent = config.site;
    document.getElementById('preview-banner').hidden = result.source !== 'preview';
    const badge = document.getElementById('fallback-badge');
    badge.hidden = result.source !== 'fallback';
    let origin = `from the API, updated ${config.updatedAt}`;
    if (result.source === 'preview') origin = `a preview of version ${config.version}, not published`;
    if (result.source === 'fallback') {
      badge.textContent = `Offline copy from ${new Date(result.savedAt).toLocaleString()}`;
      badge.title = result.error.message;
      origin = `from the copy kept at ${result.savedAt}: ${result.error.message}`;
    }
    document.getElementById('footer').textContent = `Config version ${config.version}, ${origin}`;
    body.dataset.state = 'rendered';
  } catch (error) {
    body.dataset.errorCode = error.code ?? 'Unknown';
    const what = error.code === 'NotFound' ? 'This page does not exist.' : 'This page cannot be shown right now.';
    container.replaceChildren(
      h('section', { class: 'failure', id: 'failure', role: 'alert' }, h('h1', {}, what), h('p', {}, error.message)),
    );
    body.dataset.state = 'failed';
  }
}

main();
