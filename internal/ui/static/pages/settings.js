// pages/settings.js: where the data lives, defaults for new runs (saved in
// the database: GET/PUT /settings), engines found and endpoints added, and
// this machine as the app sees it.

import { del, get, put, seg } from '../api.js';
import { errorBox, field, h, note, replace, section, tableWrap } from '../dom.js';
import { NA, dateTime, engineName } from '../format.js';
import { healthBadge, simBadge } from '../parts/badges.js';
import { engineForm } from '../parts/engine-form.js';
import { kv } from '../parts/kv.js';
import { hardwareInfo } from '../parts/run-info.js';

function defaultsForm(settings, suites, onSaved) {
  const d = settings.defaults || {};
  const inp = (name, attrs) => h('input', { name, id: `d-${name}`, autocomplete: 'off', ...attrs });
  const suite = h('select', { name: 'suite', id: 'd-suite' }, (suites || []).map((s) => h('option', { value: s.name, selected: s.name === d.suite }, s.name)));
  const c = {
    requests: inp('requests', { type: 'number', min: 0, step: 1, value: d.requests ?? '' }),
    concurrency: inp('concurrency', { type: 'number', min: 1, step: 1, value: d.concurrency ?? '' }),
    warmup: inp('warmup', { type: 'number', min: 0, step: 1, value: d.warmup ?? '' }),
    timeout: inp('timeout', { type: 'text', value: d.timeout || '', placeholder: 'e.g. 60s' }),
    max_tokens: inp('max_tokens', { type: 'number', min: 1, step: 1, value: d.max_tokens || '', placeholder: "each scenario's own" }),
    temperature: inp('temperature', { type: 'number', min: 0, max: 2, step: 0.1, value: d.temperature ?? '', placeholder: "each scenario's own" }),
    slo: inp('slo', { type: 'text', value: d.slo || '', placeholder: 'e.g. ttft=500ms,tpot=50ms' }),
  };
  const stream = inp('stream', { type: 'checkbox', checked: d.stream !== false });
  const out = h('div', { id: 'settings-out' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'settings-save' }, 'Save defaults');
  const form = h(
    'form',
    { class: 'form-grid', id: 'defaults-form', novalidate: true },
    field('Suite', suite),
    field('Requests per model × scenario', c.requests),
    field('Concurrency', c.concurrency),
    field('Warm-up requests', c.warmup),
    field('Timeout per request', c.timeout),
    field('max_tokens', c.max_tokens),
    field('Temperature', c.temperature, 'empty: not sent'),
    field('SLOs', c.slo),
    h('label', { class: 'check' }, stream, ' streaming'),
    h('div', { class: 'actions' }, save),
    out,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
    const body = { suite: suite.value, stream: stream.checked };
    for (const k of ['requests', 'concurrency', 'warmup', 'max_tokens']) if (c[k].value.trim() !== '') body[k] = parseInt(c[k].value, 10);
    body.temperature = c.temperature.value.trim() === '' ? null : parseFloat(c.temperature.value);
    for (const k of ['timeout', 'slo']) if (c[k].value.trim()) body[k] = c[k].value.trim();
    save.disabled = true;
    try {
      await put('/settings', { defaults: body });
      replace(out, h('p', { class: 'notice ok' }, 'Saved. New benchmarks start with these defaults.'));
      if (onSaved) onSaved();
    } catch (e) {
      replace(out, errorBox(e, 'Not saved'));
      const name = (e.field || '').split('.').pop();
      const el = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (el) el.classList.add('invalid');
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function systemBlock(sys) {
  const t = sys.version || {};
  return h(
    'div',
    { class: 'info-grid', id: 'system' },
    h(
      'div',
      { class: 'info' },
      h('h3', null, 'flperf'),
      kv([
        ['Version', [t.name, t.version, t.go ? `(${t.go}, ${t.os}/${t.arch})` : ''].filter(Boolean).join(' ') || NA],
        ['Listening on', sys.listen],
        ['Started', dateTime(sys.started)],
      ]),
    ),
    h('div', { class: 'info', id: 'hardware' }, h('h3', null, 'Hardware'), sys.hardware ? hardwareInfo(sys.hardware) : note('The hardware could not be described.')),
  );
}

function enginesTable(engines, reload) {
  if (!engines.length) return note('No engine found.');
  const head = h('tr', null, ['Engine', 'Kind', 'Endpoint', 'Found by', 'Health', ''].map((t) => h('th', null, t)));
  const rows = engines.map((e) => {
    const rm = e.configured ? h('button', { type: 'button', class: 'danger' }, 'Remove') : null;
    if (rm) {
      rm.addEventListener('click', async () => {
        if (!window.confirm(`Remove ${engineName(e)} (${e.endpoint})?`)) return;
        rm.disabled = true;
        try {
          await del(`/engines/${seg(e.id)}`);
          reload();
        } catch (err) {
          rm.replaceWith(errorBox(err, 'Remove'));
        }
      });
    }
    return h(
      'tr',
      { dataset: { engine: e.id } },
      h('td', null, engineName(e), ' ', simBadge(e.simulated)),
      h('td', null, [e.kind, e.version].filter(Boolean).join(' ') || NA),
      h('td', null, e.endpoint || NA),
      h('td', null, e.configured ? 'added by you' : e.detected_by || NA),
      h('td', null, healthBadge(e)),
      h('td', null, rm),
    );
  });
  return tableWrap(h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, rows)));
}

// doctorBlock shows `flperf doctor`'s text (GET /doctor?format=text) and
// copies it: the clipboard API where the page may use it, else the text
// is selected for Ctrl+C.
function doctorBlock(signal) {
  const pre = h('pre', { id: 'doctor-text', class: 'doctor' }, 'Gathering…');
  const status = h('span', { id: 'doctor-copied', role: 'status' });
  const copy = h('button', { type: 'button', id: 'doctor-copy', disabled: true }, 'Copy');
  copy.addEventListener('click', async () => {
    const text = pre.textContent;
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = ' Copied.';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      let ok = false;
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      status.textContent = ok ? ' Copied.' : ' Selected: press Ctrl+C (⌘C on a Mac) to copy.';
    }
  });
  get('/doctor?format=text', { signal, raw: true })
    .then((text) => {
      pre.textContent = text;
      copy.disabled = false;
    })
    .catch((e) => {
      if (e.name !== 'AbortError') pre.replaceWith(errorBox(e, 'Doctor'));
    });
  return [
    note('What a bug report needs, as `flperf doctor` prints it (no host, user or home directory in it). Copy it into the issue.'),
    h('div', { class: 'toolbar' }, copy, status),
    pre,
  ];
}

export async function render(ctx) {
  const { root, signal } = ctx;
  replace(root, h('h1', null, 'Settings'), note('Loading…'));
  const [settings, suites, sys] = await Promise.all([get('/settings', { signal }), get('/suites', { signal }).catch(() => []), get('/system', { signal }).catch(() => null)]);
  const enginesBox = h('div', null, note('Looking for engines…'));
  const loadEngines = async (refresh) => {
    try {
      const list = (await get(`/engines${refresh ? '?refresh=1' : ''}`, { signal })) || [];
      replace(enginesBox, enginesTable(list, () => loadEngines(false)));
    } catch (e) {
      if (e.name !== 'AbortError') replace(enginesBox, errorBox(e, 'Engines'));
    }
  };
  replace(
    root,
    h('h1', null, 'Settings'),
    section('Data', kv([['Data directory', settings.data_path], ['Database', settings.db_path]]), note('Runs, records and settings are kept in this SQLite database.')),
    section('Defaults for new benchmarks', defaultsForm(settings, suites)),
    section('Engines', h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => loadEngines(true) }, 'Detect again')), enginesBox),
    section('Add an endpoint', engineForm(() => loadEngines(false))),
    sys ? section('This machine', systemBlock(sys)) : null,
    section('Reporting a problem', ...doctorBlock(signal)),
  );
  await loadEngines(false);
}
