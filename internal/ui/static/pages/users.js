// pages/users.js: the named users of a shared server, for admins: the list
// (GET /users), adding one (POST /users: its token is shown this once),
// revoking one (DELETE /users/{name}) and the audit log of state-changing
// requests (GET /audit, newest first, paged).

import { del, get, post, query, seg } from '../api.js';
import { errorBox, field, h, note, replace, section, tableWrap } from '../dom.js';
import { NA, dateTime } from '../format.js';

const ROLES = [
  ['viewer', 'viewer: reads runs and reports'],
  ['runner', 'runner: also starts runs and pushes them'],
  ['admin', 'admin: also deletes, manages users, reads this log'],
];

function usersTable(users, whoami, onRevoke) {
  if (!users.length) return note('No users yet.');
  const rows = users.map((u) => {
    const revoked = !!u.revoked;
    const btn = revoked
      ? null
      : h('button', { type: 'button', class: 'revoke', 'data-user': u.name, onclick: () => onRevoke(u.name) }, u.name === whoami.user ? 'Revoke (you)' : 'Revoke');
    return h(
      'tr',
      { 'data-user': u.name, class: revoked ? 'revoked' : null },
      h('td', null, u.name),
      h('td', null, u.role),
      h('td', null, dateTime(u.created)),
      h('td', { class: 'state' }, revoked ? `revoked ${dateTime(u.revoked)}` : 'active'),
      h('td', null, btn),
    );
  });
  return tableWrap(
    h(
      'table',
      { class: 'data', id: 'users-table' },
      h('thead', null, h('tr', null, ['Name', 'Role', 'Created', 'State', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows),
    ),
  );
}

function addForm(onAdded) {
  const name = h('input', { name: 'name', id: 'user-name', autocomplete: 'off', required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9._-]*' });
  const role = h('select', { name: 'role', id: 'user-role' }, ROLES.map(([v, label]) => h('option', { value: v }, label)));
  const out = h('div', { id: 'user-add-out' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'user-add' }, 'Add user');
  const form = h('form', { class: 'form-grid', id: 'user-form', novalidate: true }, field('Name', name, 'letters, digits, . - _'), field('Role', role), h('div', { class: 'actions' }, save), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    try {
      const res = await post('/users', { name: name.value.trim(), role: role.value });
      replace(
        out,
        h(
          'div',
          { class: 'notice ok', id: 'new-token' },
          h('p', null, `User ${res.user.name} (${res.user.role}) added. Their token, shown this once (only its hash is kept):`),
          h('code', { class: 'command', id: 'new-token-value' }, res.token),
          h('p', null, 'They open the app with ?token=… or send Authorization: Bearer … .'),
        ),
      );
      name.value = '';
      onAdded();
    } catch (e) {
      replace(out, errorBox(e, 'Not added'));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function auditTable(entries) {
  if (!entries.length) return note('No state-changing requests yet.');
  return tableWrap(
    h(
      'table',
      { class: 'data', id: 'audit-table' },
      h('thead', null, h('tr', null, ['When', 'User', 'Role', 'Request', 'Target', 'Status', 'From'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        entries.map((e) =>
          h(
            'tr',
            null,
            h('td', null, dateTime(e.at)),
            h('td', null, e.user),
            h('td', null, e.role),
            h('td', null, h('code', null, e.route)),
            h('td', null, e.target || NA),
            h('td', { class: e.status >= 400 ? 'bad' : null }, String(e.status)),
            h('td', null, e.remote),
          ),
        ),
      ),
    ),
  );
}

export async function render(ctx) {
  const { root, signal } = ctx;
  const whoami = await get('/whoami', { signal });
  replace(root, h('h1', null, 'Users'));
  if (whoami.role !== 'admin') {
    root.append(note('Only admins manage users.'));
    return;
  }
  if (whoami.mode !== 'users') {
    root.append(
      note('This server has no named users: it takes ', whoami.mode === 'token' ? 'its single access token' : 'requests from this machine', '. ' +
        'Create the first admin on the server’s machine, then open the app with their token:'),
      h('code', { class: 'command' }, 'flperf users add NAME --role admin'),
    );
    return;
  }
  const usersBox = h('div', { id: 'users' });
  const revokeOut = h('div', { id: 'user-revoke-out' });
  const auditBox = h('div', { id: 'audit' });
  const more = h('button', { type: 'button', id: 'audit-more', class: 'hidden' }, 'Older entries');
  let next = null;

  async function loadAudit(append) {
    try {
      const page = await get('/audit' + query({ limit: 50, before: append ? next : null }), { signal });
      next = page.next;
      more.classList.toggle('hidden', !next);
      const tb = auditBox.querySelector('tbody');
      if (append && tb) {
        tb.append(...auditTable(page.entries).querySelectorAll('tbody tr'));
      } else {
        replace(auditBox, auditTable(page.entries));
      }
    } catch (e) {
      if (e.name !== 'AbortError') replace(auditBox, errorBox(e, 'The audit log could not be read'));
    }
  }
  async function loadUsers() {
    try {
      replace(usersBox, usersTable(await get('/users', { signal }), whoami, revoke));
    } catch (e) {
      if (e.name !== 'AbortError') replace(usersBox, errorBox(e, 'Users could not be read'));
    }
  }
  async function revoke(name) {
    if (!window.confirm(`Revoke ${name}? Their token stops working at once.`)) return;
    try {
      await del(`/users/${seg(name)}`);
      replace(revokeOut, h('p', { class: 'notice ok' }, `${name} is revoked.`));
    } catch (e) {
      replace(revokeOut, errorBox(e, `${name} is not revoked`));
    }
    await Promise.all([loadUsers(), loadAudit(false)]);
  }
  more.addEventListener('click', () => loadAudit(true));

  root.append(
    note(`Signed in as ${whoami.user} (admin).`),
    section('Users', usersBox, revokeOut),
    section('Add a user', addForm(() => Promise.all([loadUsers(), loadAudit(false)]))),
    section('Audit log', note('Every state-changing request of a named user, refused ones included, newest first.'), auditBox, more),
  );
  await Promise.all([loadUsers(), loadAudit(false)]);
}
