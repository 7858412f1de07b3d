// pages/suites.js: the suites, built-in and saved (/suites), and the suite
// editor (/suites?edit=NAME, /suites?new=1): fields per scenario, scenarios
// added, removed and moved, the whole document as JSON, validation as you
// type by the server (the command line's own messages, beside the field),
// save (a revision guards against two tabs overwriting each other),
// duplicate, delete, and "run this suite" on the Benchmarks page.

import { api, del, get, post, seg } from '../api.js';
import { errorBox, h, note, replace, section, tableWrap } from '../dom.js';
import { slotFor, suiteForm } from '../parts/suite-form.js';

// VALIDATE_DELAY is how long typing pauses before the document is checked.
const VALIDATE_DELAY = 300;

export async function render(ctx) {
  const q = ctx.query;
  if (q.has('edit')) return editor(ctx, q.get('edit'));
  if (q.has('new')) return editor(ctx, null);
  return list(ctx);
}

// duplicateForm asks for the copy's name and makes it (POST
// /suites/{name}/duplicate), then opens the copy in the editor.
function duplicateForm(ctx, from, id) {
  const name = h('input', { type: 'text', name: 'duplicate_name', id: `dup-name-${id}`, autocomplete: 'off', placeholder: 'name of the copy', 'aria-label': `Name of the copy of ${from}` });
  const out = h('span', { class: 'dup-out' });
  const go = h('button', { type: 'submit', id: `dup-go-${id}` }, 'Duplicate');
  return h(
    'form',
    { class: 'inline-form', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      go.disabled = true;
      try {
        const s = await post(`/suites/${seg(from)}/duplicate`, { name: name.value.trim() }, { signal: ctx.signal });
        ctx.navigate(`/suites?edit=${encodeURIComponent(s.name)}`);
      } catch (e) {
        if (e.name !== 'AbortError') replace(out, errorBox(e));
      } finally {
        go.disabled = false;
      }
    } },
    name,
    go,
    out,
  );
}

// list shows every suite with its actions.
async function list(ctx) {
  const { root, signal } = ctx;
  replace(root, h('h1', null, 'Suites'), note('Loading suites…'));
  const suites = (await get('/suites', { signal })) || [];
  const rows = suites.map((s, i) => {
    const remove = s.source === 'custom'
      ? h('button', { type: 'button', class: 'danger', 'data-act': 'delete', onclick: async (ev) => {
        const b = ev.currentTarget;
        if (b.dataset.confirm !== '1') {
          b.dataset.confirm = '1';
          b.textContent = `Delete ${s.name}? Click again`;
          return;
        }
        try {
          await del(`/suites/${seg(s.name)}`, { signal, headers: s.revision ? { 'If-Match': `"${s.revision}"` } : undefined });
          ctx.navigate('/suites', { replace: true });
        } catch (e) {
          if (e.name !== 'AbortError') b.replaceWith(errorBox(e, 'Not deleted'));
        }
      } }, 'Delete')
      : null;
    return h(
      'tr',
      { dataset: { suite: s.name } },
      h('td', null, h('a', { href: `/suites?edit=${encodeURIComponent(s.name)}` }, s.name)),
      h('td', null, s.source === 'custom' ? 'saved' : 'built-in'),
      h('td', { class: 'num' }, s.error ? '–' : s.scenarios),
      h('td', null, s.error ? h('span', { class: 'note warn' }, `invalid: ${s.error}`) : s.description || ''),
      h(
        'td',
        null,
        h(
          'div',
          { class: 'row-actions' },
          h('a', { class: 'button', href: `/suites?edit=${encodeURIComponent(s.name)}` }, s.source === 'custom' ? 'Edit' : 'View'),
          s.error ? null : h('a', { class: 'button', href: `/benchmarks?suite=${encodeURIComponent(s.name)}` }, 'Run'),
          duplicateForm(ctx, s.name, i),
          remove,
        ),
      ),
    );
  });
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Suites'), h('a', { class: 'button primary', href: '/suites?new=1', id: 'suite-new' }, 'New suite')),
    note('Saved suites live next to the database (the "suites" folder); ', h('code', null, 'flperf run --suite NAME'), ' runs them too.'),
    section(
      'All suites',
      tableWrap(h('table', { class: 'data', id: 'suites-table' },
        h('thead', null, h('tr', null, ['Name', 'Source', 'Scenarios', 'Description', ''].map((c) => h('th', null, c)))),
        h('tbody', null, rows))),
    ),
  );
}

// starter is a new suite's document.
const starter = () => ({ name: '', version: '1.0', scenarios: [{ name: '', prompt: '', max_tokens: 100 }] });

// editor opens the suite called name (null: a new one).
async function editor(ctx, name) {
  const { root, signal } = ctx;
  replace(root, h('h1', null, name ? `Suite ${name}` : 'New suite'), note('Loading…'));
  let revision = '';
  let editable = true;
  let source = 'custom';
  let loadError = '';
  let doc = starter();
  let rawText = null; // the JSON box's text while it is not a JSON object
  if (name) {
    const d = await get(`/suites/${seg(name)}/document`, { signal });
    revision = d.revision || '';
    editable = d.editable;
    source = d.source;
    loadError = d.error || '';
    if (d.document !== null && typeof d.document === 'object' && !Array.isArray(d.document)) doc = d.document;
    else rawText = typeof d.document === 'string' ? d.document : JSON.stringify(d.document, null, 2);
  }
  let dirty = false;
  let saving = false;
  const localErrors = new Map(); // control → message, for "other fields" that are not JSON objects

  const status = h('p', { class: 'note', id: 'suite-status', 'aria-live': 'polite' });
  const summary = h('div', { id: 'suite-problems' });
  const out = h('div', { id: 'suite-out' });
  const formBox = h('div', { id: 'suite-form' });
  const json = h('textarea', { id: 'suite-json', class: 'code', rows: 16, spellcheck: 'false', disabled: !editable, 'aria-label': 'The suite document (JSON)' });
  const jsonErrors = h('div', { class: 'field-errors', dataset: { errorsFor: '' } });
  const save = h('button', { type: 'button', class: 'primary', id: 'suite-save', disabled: !editable }, name ? 'Save' : 'Create suite');
  const runLink = h('a', { class: 'button', id: 'suite-run' }, 'Run this suite');

  const body = () => (rawText !== null ? rawText : JSON.stringify(doc, null, 2));
  const setStatus = (text, cls) => {
    status.textContent = text;
    status.className = `note ${cls || ''}`;
  };
  const updateRun = () => {
    const can = !!name && !dirty && !loadError;
    runLink.classList.toggle('hidden', !can);
    if (can) runLink.setAttribute('href', `/benchmarks?suite=${encodeURIComponent(name)}`);
  };

  // showProblems puts each problem beside its field and lists them all
  // (the lines `flperf run` prints) above the form.
  const showProblems = (problems, omitted) => {
    for (const el of root.querySelectorAll('.field-errors')) el.replaceChildren();
    for (const el of root.querySelectorAll('.invalid')) {
      el.classList.remove('invalid');
      el.removeAttribute('aria-invalid');
    }
    for (const [ctl, msg] of localErrors) {
      const slot = ctl.parentElement && ctl.parentElement.querySelector('.field-errors');
      if (slot) slot.append(h('small', { class: 'field-error', role: 'alert' }, msg));
      ctl.classList.add('invalid');
    }
    for (const p of problems) {
      const slot = (rawText === null && slotFor(formBox, p.path)) || jsonErrors;
      slot.append(h('small', { class: 'field-error', dataset: { path: p.path } }, slot === jsonErrors || slot.dataset.errorsFor !== p.path ? p.text : p.message));
      const ctl = slot.parentElement && slot.parentElement.querySelector(':scope > input, :scope > textarea, :scope > select');
      if (ctl) {
        ctl.classList.add('invalid');
        ctl.setAttribute('aria-invalid', 'true');
      }
    }
    if (!problems.length) {
      replace(summary);
      return;
    }
    replace(
      summary,
      h('div', { class: 'notice error', role: 'alert' },
        h('strong', null, problems.length === 1 ? '1 problem' : `${problems.length}${omitted ? '+' : ''} problems`, ' (as flperf run reports them):'),
        h('ul', { class: 'plain' }, problems.map((p) => h('li', null, p.text)), omitted ? h('li', null, `… and ${omitted} more`) : null)),
    );
  };

  // validate asks the server about the document; answers to an older
  // document are dropped.
  let gen = 0;
  let timer = 0;
  const validate = async () => {
    const g = ++gen;
    let v;
    try {
      v = await api('/suites/validate', { method: 'POST', rawBody: body(), signal });
    } catch (e) {
      if (e.name !== 'AbortError' && g === gen) setStatus(`Could not check: ${e.message}`, 'warn');
      return;
    }
    if (g !== gen) return;
    showProblems(v.problems || [], v.omitted || 0);
    root.dataset.validated = String(g);
    if (!v.valid) setStatus(`${dirty ? 'Unsaved changes. ' : ''}${v.problems.length}${v.omitted ? '+' : ''} problem${v.problems.length === 1 ? '' : 's'} to fix before saving.`, 'warn');
    else if (localErrors.size) setStatus('An "other fields" box is not a JSON object.', 'warn');
    else setStatus(dirty ? `Unsaved changes (valid: ${v.scenarios} scenarios).` : `Saved. Valid: ${v.scenarios} scenarios.`, dirty ? '' : 'ok');
  };
  const schedule = () => {
    clearTimeout(timer);
    root.dataset.validated = '';
    timer = setTimeout(validate, VALIDATE_DELAY);
  };
  ctx.onCleanup(() => clearTimeout(timer));

  const onBeforeUnload = (ev) => {
    if (dirty) ev.preventDefault();
  };
  window.addEventListener('beforeunload', onBeforeUnload);
  ctx.onCleanup(() => window.removeEventListener('beforeunload', onBeforeUnload));

  const touched = () => {
    dirty = true;
    updateRun();
    if (document.activeElement !== json) json.value = body();
    schedule();
  };

  // drawForm redraws the form from doc (after a change of shape, or of
  // the JSON box).
  const drawForm = () => {
    localErrors.clear();
    if (rawText !== null) {
      replace(formBox, note('The document is not a JSON object: fix it in the JSON box below to see the form.'));
      return;
    }
    const f = suiteForm(doc, {
      readOnly: !editable,
      onChange: touched,
      onStructure: () => {
        drawForm();
        touched();
      },
      onLocalError: (ctl, msg) => {
        if (msg) localErrors.set(ctl, msg);
        else localErrors.delete(ctl);
        schedule();
      },
    });
    replace(formBox, f);
  };

  json.value = body();
  json.addEventListener('input', () => {
    dirty = true;
    updateRun();
    let v;
    try {
      v = JSON.parse(json.value);
    } catch {
      v = undefined;
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      doc = v;
      rawText = null;
    } else {
      rawText = json.value;
    }
    drawForm();
    schedule();
  });

  save.addEventListener('click', async () => {
    if (saving) return;
    clearTimeout(timer);
    if (localErrors.size) {
      await validate();
      replace(out, errorBox(new Error('an "other fields" box is not a JSON object'), 'Not saved'));
      return;
    }
    saving = true;
    save.disabled = true;
    replace(out, note('Saving…'));
    try {
      let res;
      if (name) {
        res = await api(`/suites/${seg(name)}`, { method: 'PUT', rawBody: body(), headers: { 'If-Match': `"${revision}"` }, signal });
      } else {
        res = await api('/suites', { method: 'POST', rawBody: body(), signal });
      }
      dirty = false;
      revision = res.revision;
      loadError = '';
      if (!name) {
        ctx.navigate(`/suites?edit=${encodeURIComponent(res.name)}`, { replace: true });
        return;
      }
      replace(out, h('div', { class: 'notice ok', id: 'suite-saved' }, `Saved ${res.name} (${res.scenarios} scenarios).`));
      updateRun();
      await validate();
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.problems) {
        showProblems(e.problems, 0);
        replace(out, errorBox(new Error('fix the problems shown beside the fields'), 'Not saved'));
      } else if (e.status === 409 && e.field === 'If-Match') {
        replace(out, h('div', { class: 'notice error', role: 'alert', id: 'suite-conflict' },
          `Not saved: ${e.message}. `,
          h('a', { href: `/suites?edit=${encodeURIComponent(name)}`, onclick: (ev) => {
            ev.preventDefault();
            dirty = false;
            ctx.navigate(`/suites?edit=${encodeURIComponent(name)}`, { replace: true });
          } }, 'Reload the saved suite (drops these edits)'),
          ', or keep these edits under a new name: change the name and use "Save as a copy" below.'));
      } else {
        replace(out, errorBox(e, 'Not saved'));
        if (e.field === 'name') showProblems([{ path: 'name', message: e.message, text: `name: ${e.message}` }], 0);
      }
    } finally {
      saving = false;
      save.disabled = !editable;
    }
  });

  // Save as a copy: the edited document under its (new) name.
  const copyBtn = h('button', { type: 'button', id: 'suite-save-copy' }, 'Save as a copy');
  copyBtn.addEventListener('click', async () => {
    try {
      const res = await api('/suites', { method: 'POST', rawBody: body(), signal });
      dirty = false;
      ctx.navigate(`/suites?edit=${encodeURIComponent(res.name)}`);
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.problems) showProblems(e.problems, 0);
      replace(out, errorBox(e, 'Not saved'));
    }
  });

  const readOnlyNote = !editable
    ? h('div', { class: 'notice warn' }, `${name} is a built-in suite: it is read-only. Duplicate it to make a suite of your own from it.`)
    : null;
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, name ? `Suite ${name}` : 'New suite'), h('a', { href: '/suites' }, 'All suites')),
    readOnlyNote,
    loadError ? h('div', { class: 'notice warn' }, `The saved file does not validate: ${loadError}`) : null,
    status,
    summary,
    formBox,
    section('Document (JSON)', note('The whole suite as saved; edits here and in the form above are the same document.'), json, jsonErrors),
    h('div', { class: 'actions sticky-actions' }, save, name && editable ? copyBtn : null, runLink, out),
    name ? section('Duplicate', duplicateForm(ctx, name, 'editor')) : null,
  );
  drawForm();
  updateRun();
  if (source === 'builtin') setStatus('Built-in suite (read-only).');
  await validate();
}
