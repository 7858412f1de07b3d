// app.js: the router. Each path maps to a page module under pages/, loaded
// on first visit; links inside the app navigate without reloading, and
// every URL (/runs/ID, /compare?base=…) also works when loaded directly.

import { captureToken, get, token } from './api.js';
import { destroyAll } from './charts.js';
import { errorBox, h, replace } from './dom.js';

const routes = [
  { re: /^\/$/, page: 'dashboard', nav: '/' },
  { re: /^\/models\/?$/, page: 'models', nav: '/models' },
  { re: /^\/benchmarks\/?$/, page: 'benchmarks', nav: '/benchmarks' },
  { re: /^\/suites\/?$/, page: 'suites', nav: '/suites' },
  { re: /^\/(?:runs|results)\/?$/, page: 'results', nav: '/runs' },
  { re: /^\/runs\/([0-9A-Za-z-]+)\/?$/, page: 'results', nav: '/runs', keys: ['id'] },
  { re: /^\/(?:history|compare)\/?$/, page: 'history', nav: '/history' },
  { re: /^\/board\/?$/, page: 'board', nav: '/board' },
  { re: /^\/board\/trend\/?$/, page: 'trend', nav: '/board' },
  { re: /^\/settings\/?$/, page: 'settings', nav: '/settings' },
  { re: /^\/users\/?$/, page: 'users', nav: '/users' },
];

const NAV = [
  ['/', 'Dashboard'],
  ['/models', 'Models'],
  ['/benchmarks', 'Benchmarks'],
  ['/suites', 'Suites'],
  ['/runs', 'Results'],
  ['/history', 'History'],
  ['/board', 'Leaderboard'],
  ['/settings', 'Settings'],
];

// The Users page is in the menu for the admins of a server with named
// users (GET /whoami, asked only when the tab has a token).
let showUsers = false;
let activeNav = '';

let current = null; // {controller, cleanups}

function match(pathname) {
  for (const r of routes) {
    const m = r.re.exec(pathname);
    if (m) {
      const params = {};
      (r.keys || []).forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      return { ...r, params };
    }
  }
  return null;
}

function drawNav(active) {
  activeNav = active;
  const nav = document.getElementById('nav');
  const items = showUsers ? [...NAV, ['/users', 'Users']] : NAV;
  replace(
    nav,
    items.map(([href, label]) => h('a', { href, class: href === active ? 'active' : null, 'aria-current': href === active ? 'page' : null }, label)),
  );
}

// navigate changes the page to path (pushing a history entry unless replace).
export function navigate(path, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

async function route() {
  if (current) {
    current.controller.abort();
    for (const fn of current.cleanups) {
      try {
        fn();
      } catch (e) {
        console.warn('cleanup failed', e);
      }
    }
  }
  destroyAll();
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const main = document.getElementById('main');
  const m = match(location.pathname);
  drawNav(m ? m.nav : '');
  window.__flperfReady = null;
  window.__flperfRendered = undefined;
  window.__flperfSummaryRendered = undefined;
  document.body.dataset.page = m ? m.page : 'notfound';
  if (!m) {
    replace(main, h('h1', null, 'Page not found'), h('p', null, 'Nothing lives at this address. ', h('a', { href: '/' }, 'Go to the dashboard'), '.'));
    window.__flperfReady = { page: 'notfound', at: performance.now() };
    return;
  }
  const root = h('div', { class: 'page', id: `page-${m.page}` });
  replace(main, root);
  const ctx = {
    root,
    params: m.params,
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    onCleanup: (fn) => cleanups.push(fn),
    navigate,
  };
  try {
    const mod = await import(`./pages/${m.page}.js`);
    await mod.render(ctx);
    if (!controller.signal.aborted) window.__flperfReady = { page: m.page, at: performance.now() };
  } catch (e) {
    if (controller.signal.aborted || (e && e.name === 'AbortError')) return;
    console.warn('page failed', e);
    replace(root, errorBox(e, 'This page could not be shown'));
    window.__flperfReady = { page: m.page, at: performance.now(), error: String(e && e.message) };
  }
}

// Links: same-origin, non-API, non-download links navigate in place.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/assets/')) return;
  ev.preventDefault();
  if (url.pathname + url.search === location.pathname + location.search) return;
  navigate(url.pathname + url.search + url.hash);
});

// checkRole asks who the tab's token belongs to and shows the Users page
// in the menu to the admins of a server with named users.
async function checkRole() {
  if (!token()) return;
  try {
    const w = await get('/whoami');
    showUsers = w.role === 'admin' && w.mode === 'users';
  } catch {
    showUsers = false;
  }
  drawNav(activeNav);
}

window.addEventListener('popstate', route);
captureToken();
route();
checkRole();
