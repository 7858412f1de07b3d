// parts/suite-form.js: the form of a suite document, built from the
// document object itself and writing every edit back into it. The form
// knows the common fields and the kinds of scenario (a prompt, an exact
// input length, a conversation of fixed or generated turns: a "Kind"
// selector shows each kind's own controls); every other key (a field this
// page does not know yet, default_config, ignore_eos…) stays in an "other fields"
// JSON box, so that nothing is hard-wired beyond what the form shows and
// nothing is lost. Validation is the server's (POST /suites/validate):
// each control carries the document path of its value (data-path), where
// the problems are shown. All text goes in as text (dom.js).

import { h } from '../dom.js';

// Keys the form edits itself; every other key goes to "other fields".
const SUITE_KEYS = ['name', 'version', 'description', 'scenarios'];
const SCENARIO_KEYS = ['name', 'category', 'language', 'description', 'system', 'prompt', 'messages', 'max_tokens', 'temperature', 'stop', 'expected_output_length', 'fixed_output', 'input_tokens', 'turns', 'conversation'];
// The kinds of scenario, each with the keys that make it (README: suite
// fields): a prompt (and messages), an exact input length that replaces
// them, a conversation of the user's own turns, or of generated ones.
const KINDS = [
  { value: 'prompt', label: 'prompt', keys: ['prompt', 'messages'] },
  { value: 'input', label: 'exact input length', keys: ['input_tokens'] },
  { value: 'turns', label: 'conversation (fixed turns)', keys: ['turns'] },
  { value: 'generated', label: 'conversation (generated)', keys: ['conversation'] },
];

// kindOf is the kind of scenario sc: the first whose key it carries.
function kindOf(sc) {
  if (sc.input_tokens !== undefined) return 'input';
  if (sc.turns !== undefined) return 'turns';
  if (sc.conversation !== undefined) return 'generated';
  return 'prompt';
}

// switchKind makes sc a scenario of kind to: the keys of the other kinds
// go to sc's stash (so that switching back restores them) and the new kind's
// come back from it, or start with a value the server will ask to fill.
const stashes = new WeakMap();
function switchKind(sc, to) {
  if (!stashes.has(sc)) stashes.set(sc, {});
  const stash = stashes.get(sc);
  for (const k of KINDS) {
    if (k.value === to) continue;
    for (const key of k.keys) {
      if (sc[key] !== undefined) {
        stash[key] = sc[key];
        delete sc[key];
      }
    }
  }
  const fresh = { prompt: { prompt: '' }, input: { input_tokens: 512 }, turns: { turns: [''] }, generated: { conversation: { turns: 4, user_tokens: 64 } } }[to];
  let restored = false;
  for (const key of KINDS.find((k) => k.value === to).keys) {
    if (stash[key] !== undefined) {
      sc[key] = stash[key];
      delete stash[key];
      restored = true;
    }
  }
  if (!restored) Object.assign(sc, fresh);
}
const ROLES = ['system', 'user', 'assistant'];
const LENGTHS = ['', 'short', 'medium', 'long'];

// numberValue reads a number field: undefined when empty, the number when
// it is one, else the text as typed (so that the server names the field).
function numberValue(text) {
  const v = text.trim();
  if (v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

// shown is how a value of the document appears in a text control.
function shown(v) {
  if (v == null) return '';
  return typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
}

// escaped shows a stop sequence with JSON escapes (\n, \t) so that every
// one can be typed in a one-line field; unescaped reads it back.
const escaped = (s) => (typeof s === 'string' ? JSON.stringify(s).slice(1, -1) : JSON.stringify(s));
function unescaped(text) {
  try {
    const v = JSON.parse(`"${text}"`);
    return typeof v === 'string' ? v : text;
  } catch {
    return text;
  }
}

// setKey sets obj[key] = v, or deletes the key when v is undefined.
function setKey(obj, key, v) {
  if (v === undefined) delete obj[key];
  else obj[key] = v;
}

// otherKeys returns obj's members that are not in known, as an object.
function otherKeys(obj, known) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (!known.includes(k)) out[k] = v;
  return out;
}

// suiteForm builds the form of doc (an object, edited in place). opts:
// readOnly, onChange() after any edit of a value, onStructure() after a
// change of shape (a scenario or message added, removed, moved: the
// caller redraws), onLocalError(path, message|null) for an "other fields"
// box that is not a JSON object.
export function suiteForm(doc, opts) {
  const { readOnly = false, onChange, onStructure, onLocalError } = opts;
  const changed = () => onChange && onChange();
  const restructure = () => onStructure && onStructure();
  let uid = 0;

  // box wraps a control with its label, hint and the slot its problems go
  // in; path is the document path of its value.
  const box = (label, control, path, hint, cls) => {
    const id = control.id || `sf-${++uid}`;
    control.id = id;
    control.dataset.path = path;
    return h(
      'div',
      { class: ['field', 'sf-field', cls], dataset: { path } },
      h('label', { class: 'label', for: id }, label),
      control,
      hint ? h('small', { class: 'hint' }, hint) : null,
      h('div', { class: 'field-errors', dataset: { errorsFor: path } }),
    );
  };

  // text is a one-line or multi-line text control bound to obj[key].
  const text = (obj, key, path, { multi = false, rows = 3, placeholder, number = false } = {}) => {
    const el = multi
      ? h('textarea', { rows, name: path, placeholder, spellcheck: 'false', disabled: readOnly })
      : h('input', { type: 'text', name: path, placeholder, autocomplete: 'off', disabled: readOnly, inputmode: number ? 'decimal' : null });
    el.value = shown(obj[key]);
    el.addEventListener('input', () => {
      if (number) setKey(obj, key, numberValue(el.value));
      else setKey(obj, key, el.value === '' ? undefined : el.value);
      changed();
    });
    return el;
  };

  // extras is the "other fields" JSON box of obj: its keys outside known.
  const extras = (obj, known, path, hint) => {
    const cur = otherKeys(obj, known);
    const el = h('textarea', { rows: Object.keys(cur).length ? 4 : 2, spellcheck: 'false', class: 'code', disabled: readOnly, name: `${path || 'suite'}.other` });
    el.value = Object.keys(cur).length ? JSON.stringify(cur, null, 2) : '';
    el.addEventListener('input', () => {
      let v;
      try {
        v = el.value.trim() === '' ? {} : JSON.parse(el.value);
      } catch (e) {
        onLocalError && onLocalError(el, `not JSON: ${e.message}`);
        return;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        onLocalError && onLocalError(el, 'must be a JSON object of fields, e.g. {"min_tokens": 16}');
        return;
      }
      const clash = Object.keys(v).find((k) => known.includes(k));
      if (clash) {
        onLocalError && onLocalError(el, `"${clash}" has its own field above`);
        return;
      }
      onLocalError && onLocalError(el, null);
      for (const k of Object.keys(otherKeys(obj, known))) delete obj[k];
      Object.assign(obj, v);
      changed();
    });
    const wrap = box('Other fields (JSON)', el, `${path}${path ? '.' : ''}*`, hint, 'wide');
    return wrap;
  };

  const button = (label, attrs, fn) =>
    h('button', { type: 'button', disabled: readOnly, ...attrs, onclick: (ev) => {
      ev.preventDefault();
      fn();
      restructure();
    } }, label);

  // Suite-level fields.
  const head = h(
    'fieldset',
    { class: 'sf-suite form-grid' },
    h('legend', null, 'Suite'),
    box('Name', text(doc, 'name', 'name', { placeholder: 'my-suite' }), 'name', 'new suites are saved under this name'),
    box('Version', text(doc, 'version', 'version', { placeholder: '1.0' }), 'version'),
    box('Description', text(doc, 'description', 'description', { multi: true, rows: 2 }), 'description', null, 'wide'),
    extras(doc, SUITE_KEYS, '', 'e.g. {"default_config": {"iterations": 5, "temperature": 0}}'),
  );

  if (!Array.isArray(doc.scenarios)) doc.scenarios = doc.scenarios == null ? [] : doc.scenarios;
  const scs = Array.isArray(doc.scenarios) ? doc.scenarios : [];
  const cards = scs.map((sc, i) => scenarioCard(sc, i));

  // kindControls are the controls of sc's kind beyond the prompt: the
  // input length field, the list of user turns, or the generated
  // conversation's two numbers ({grid: in the grid, list: below it}).
  function kindControls(sc, kind, at) {
    if (kind === 'input') {
      return {
        grid: box('Input tokens', text(sc, 'input_tokens', at('input_tokens'), { number: true, placeholder: '512' }), at('input_tokens'),
          'N, MEAN:STDDEV (e.g. 512:64) or uniform:A-B (e.g. uniform:256-2048), in the model\'s own tokens with its chat template; the system prompt is kept and counted'),
        list: null,
      };
    }
    if (kind === 'generated') {
      const cv = sc.conversation !== null && typeof sc.conversation === 'object' && !Array.isArray(sc.conversation) ? sc.conversation : null;
      if (!cv) return { grid: h('div', { class: 'field-errors', dataset: { errorsFor: at('conversation') } }), list: null };
      return {
        grid: [
          box('User turns', text(cv, 'turns', at('conversation.turns'), { number: true, placeholder: '4' }), at('conversation.turns'), '1 to 100'),
          box('Tokens per user turn', text(cv, 'user_tokens', at('conversation.user_tokens'), { number: true, placeholder: '64' }), at('conversation.user_tokens'), 'each generated turn\'s length (the labelled estimate)'),
          h('div', { class: 'field-errors', dataset: { errorsFor: at('conversation') } }),
        ],
        list: null,
      };
    }
    if (kind !== 'turns') return { grid: null, list: null };
    const turns = Array.isArray(sc.turns) ? sc.turns : null;
    const rows = (turns || []).map((t, j) => {
      const tp = at(`turns[${j}]`);
      const el = h('textarea', { rows: 2, spellcheck: 'false', disabled: readOnly, name: tp });
      el.value = shown(t);
      el.addEventListener('input', () => {
        turns[j] = el.value;
        changed();
      });
      return h(
        'div',
        { class: 'sf-turn', dataset: { path: tp } },
        box(`User turn ${j + 1}`, el, tp, null, 'wide'),
        h(
          'div',
          { class: 'toolbar' },
          button('Move up', { 'data-act': 'turn-up', disabled: readOnly || j === 0 }, () => turns.splice(j - 1, 0, turns.splice(j, 1)[0])),
          button('Move down', { 'data-act': 'turn-down', disabled: readOnly || j === turns.length - 1 }, () => turns.splice(j + 1, 0, turns.splice(j, 1)[0])),
          button('Remove turn', { class: 'danger', 'data-act': 'remove-turn' }, () => turns.splice(j, 1)),
        ),
      );
    });
    return {
      grid: null,
      list: h(
        'div',
        { class: 'sf-list', dataset: { path: at('turns') } },
        h('span', { class: 'label' }, 'User turns'),
        h('small', { class: 'hint' }, ' each sent with the whole history before it, the model\'s real answers included'),
        h('div', { class: 'field-errors', dataset: { errorsFor: at('turns') } }),
        rows,
        button('Add turn', { 'data-act': 'add-turn' }, () => {
          if (!Array.isArray(sc.turns)) sc.turns = [];
          sc.turns.push('');
        }),
      ),
    };
  }

  function scenarioCard(sc, i) {
    const p = `scenarios[${i}]`;
    if (sc === null || typeof sc !== 'object' || Array.isArray(sc)) {
      return h('fieldset', { class: 'sf-scenario', dataset: { path: p } }, h('legend', null, `Scenario ${i + 1}`),
        h('div', { class: 'field-errors', dataset: { errorsFor: p } }),
        h('p', { class: 'note' }, 'Not an object: fix it in the document (JSON) below, or remove it.'),
        button('Remove', { class: 'danger', 'data-act': 'remove' }, () => scs.splice(i, 1)));
    }
    const at = (k) => `${p}.${k}`;
    // Messages: role and content rows.
    const msgs = Array.isArray(sc.messages) ? sc.messages : null;
    const msgRows = (msgs || []).map((m, j) => {
      const mp = at(`messages[${j}]`);
      if (m === null || typeof m !== 'object') return h('div', { class: 'field-errors', dataset: { errorsFor: mp } });
      const role = h('select', { disabled: readOnly, name: `${mp}.role` }, ROLES.concat(ROLES.includes(m.role) || m.role == null ? [] : [m.role]).map((r) => h('option', { value: r }, r)));
      role.value = m.role == null ? 'user' : m.role;
      if (m.role == null) m.role = 'user';
      role.addEventListener('change', () => {
        m.role = role.value;
        changed();
      });
      return h(
        'div',
        { class: 'sf-message', dataset: { path: mp } },
        box('Role', role, `${mp}.role`),
        box('Content', text(m, 'content', `${mp}.content`, { multi: true, rows: 2 }), `${mp}.content`, null, 'wide'),
        button('Remove message', { class: 'danger', 'data-act': 'remove-message' }, () => {
          msgs.splice(j, 1);
          if (!msgs.length) delete sc.messages;
        }),
        h('div', { class: 'field-errors', dataset: { errorsFor: mp } }),
      );
    });
    // Stop sequences: one field each, with JSON escapes.
    const stops = Array.isArray(sc.stop) ? sc.stop : null;
    const stopRows = (stops || []).map((s, j) => {
      const sp = at(`stop[${j}]`);
      const el = h('input', { type: 'text', disabled: readOnly, autocomplete: 'off', name: sp });
      el.value = escaped(s);
      el.addEventListener('input', () => {
        stops[j] = unescaped(el.value);
        changed();
      });
      return h('div', { class: 'sf-stop' }, box(`Stop ${j + 1}`, el, sp), button('Remove', { class: 'danger', 'data-act': 'remove-stop' }, () => {
        stops.splice(j, 1);
        if (!stops.length) delete sc.stop;
      }));
    });
    const lengthSel = h('select', { disabled: readOnly, name: at('expected_output_length') }, LENGTHS.concat(LENGTHS.includes(sc.expected_output_length ?? '') ? [] : [String(sc.expected_output_length)]).map((v) => h('option', { value: v }, v || '(not said)')));
    lengthSel.value = sc.expected_output_length == null ? '' : String(sc.expected_output_length);
    lengthSel.addEventListener('change', () => {
      setKey(sc, 'expected_output_length', lengthSel.value === '' ? undefined : lengthSel.value);
      changed();
    });
    const fixed = h('input', { type: 'checkbox', disabled: readOnly, checked: sc.fixed_output === true, name: at('fixed_output') });
    fixed.addEventListener('change', () => {
      setKey(sc, 'fixed_output', fixed.checked ? true : undefined);
      changed();
    });
    const kind = kindOf(sc);
    // The kind is no key of the document: the control is named, not
    // given a data-path, so that no problem is ever shown on it.
    const kindSel = h('select', { disabled: readOnly, name: `${p}:kind`, class: 'sf-kind' }, KINDS.map((k) => h('option', { value: k.value }, k.label)));
    kindSel.value = kind;
    kindSel.addEventListener('change', () => {
      switchKind(sc, kindSel.value);
      restructure();
    });
    const kindBox = h(
      'div',
      { class: 'field sf-field' },
      h('label', { class: 'label', for: `sf-kind-${i}` }, 'Kind'),
      kindSel,
      h('small', { class: 'hint' }, {
        prompt: 'a prompt, optionally after messages',
        input: 'a generated prompt of an exact length in the model\'s own tokens; replaces prompt and messages',
        turns: 'user turns sent one by one, each with the whole history and the model\'s real answers',
        generated: 'N generated user turns of a given length, each with the whole history',
      }[kind]),
    );
    kindSel.id = `sf-kind-${i}`;
    const kindFields = kindControls(sc, kind, at);
    const title = typeof sc.name === 'string' && sc.name ? sc.name : '(unnamed)';
    const titleEl = h('span', { class: 'sf-title' }, title);
    const nameCtl = text(sc, 'name', at('name'), { placeholder: 'e.g. Code - Small function' });
    nameCtl.addEventListener('input', () => {
      titleEl.textContent = nameCtl.value || '(unnamed)';
    });
    return h(
      'fieldset',
      { class: 'sf-scenario', dataset: { path: p, index: i } },
      h('legend', null, `Scenario ${i + 1}: `, titleEl),
      h(
        'div',
        { class: 'toolbar sf-moves' },
        button('Move up', { 'data-act': 'up', disabled: readOnly || i === 0 }, () => scs.splice(i - 1, 0, scs.splice(i, 1)[0])),
        button('Move down', { 'data-act': 'down', disabled: readOnly || i === scs.length - 1 }, () => scs.splice(i + 1, 0, scs.splice(i, 1)[0])),
        button('Copy', { 'data-act': 'copy' }, () => {
          const c = JSON.parse(JSON.stringify(sc));
          if (typeof c.name === 'string') c.name = `${c.name} (copy)`;
          scs.splice(i + 1, 0, c);
        }),
        button('Remove scenario', { class: 'danger', 'data-act': 'remove' }, () => scs.splice(i, 1)),
      ),
      h('div', { class: 'field-errors', dataset: { errorsFor: p } }),
      h(
        'div',
        { class: 'form-grid' },
        box('Name', nameCtl, at('name'), 'the part before " - " is the category when none is given'),
        kindBox,
        box('Category', text(sc, 'category', at('category')), at('category')),
        box('Language', text(sc, 'language', at('language'), { placeholder: 'e.g. en, zh-Hans' }), at('language'), 'BCP 47 tag'),
        box('max_tokens', text(sc, 'max_tokens', at('max_tokens'), { number: true, placeholder: '100' }), at('max_tokens')),
        box('Temperature', text(sc, 'temperature', at('temperature'), { number: true, placeholder: 'not sent' }), at('temperature'), '0 to 2'),
        box('Expected output', lengthSel, at('expected_output_length')),
        h('div', { class: 'field sf-field', dataset: { path: at('fixed_output') } }, h('label', { class: 'check' }, fixed, ' fixed output length (exactly max_tokens where the engine allows it)'), h('div', { class: 'field-errors', dataset: { errorsFor: at('fixed_output') } })),
        box('Description', text(sc, 'description', at('description')), at('description'), null, 'wide'),
        box('System prompt', text(sc, 'system', at('system'), { multi: true, rows: 2 }), at('system'), null, 'wide'),
        kind === 'prompt' || sc.prompt !== undefined ? box('Prompt', text(sc, 'prompt', at('prompt'), { multi: true, rows: 4 }), at('prompt'), 'sent as the last user message', 'wide') : null,
        kindFields.grid,
      ),
      kindFields.list,
      kind === 'input' && !Array.isArray(sc.messages) ? null : h(
        'div',
        { class: 'sf-list', dataset: { path: at('messages') } },
        h('span', { class: 'label' }, kind === 'prompt' ? 'Messages (a conversation sent before the prompt)' : 'Messages (a conversation sent before the first turn)'),
        h('div', { class: 'field-errors', dataset: { errorsFor: at('messages') } }),
        msgRows,
        button('Add message', { 'data-act': 'add-message' }, () => {
          if (!Array.isArray(sc.messages)) sc.messages = [];
          sc.messages.push({ role: 'user', content: '' });
        }),
      ),
      h(
        'div',
        { class: 'sf-list', dataset: { path: at('stop') } },
        h('span', { class: 'label' }, 'Stop sequences'),
        h('small', { class: 'hint' }, ' escapes such as \\n are read as in JSON'),
        h('div', { class: 'field-errors', dataset: { errorsFor: at('stop') } }),
        stopRows,
        button('Add stop sequence', { 'data-act': 'add-stop' }, () => {
          if (!Array.isArray(sc.stop)) sc.stop = [];
          sc.stop.push('');
        }),
      ),
      extras(sc, SCENARIO_KEYS, p, 'fields this form has no control for, e.g. {"min_tokens": 16, "ignore_eos": true}'),
    );
  }

  const el = h(
    'div',
    { class: 'suite-form' },
    h('div', { class: 'field-errors', dataset: { errorsFor: '' } }),
    head,
    h('div', { class: 'field-errors', dataset: { errorsFor: 'scenarios' } }),
    cards,
    h('div', { class: 'actions' }, button('Add scenario', { id: 'sf-add-scenario', 'data-act': 'add' }, () => scs.push({ name: '', prompt: '', max_tokens: 100 }))),
  );
  return el;
}

// slotFor finds where a problem at path is shown in the form el: the slot
// of its own control, else of the "other fields" box of the object that
// holds an unknown key, else of the nearest enclosing value, else the
// document's. The array index or key is dropped one step at a time:
// "scenarios[1].messages[0].role" → "scenarios[1].messages[0]" → … → "".
export function slotFor(el, path) {
  const find = (p) => el.querySelector(`.field-errors[data-errors-for="${CSS.escape(p)}"]`);
  let p = path;
  for (;;) {
    const slot = find(p);
    if (slot) return slot;
    if (p === '') return null;
    const { parent, key } = splitPath(p);
    const other = find(`${parent}${parent ? '.' : ''}*`);
    if (key !== null && other) return other;
    p = parent;
  }
}

// splitPath splits a document path into its parent and its last key (null
// when the last step is an array index).
function splitPath(p) {
  let m = /^(.*)\[\d+\]$/.exec(p);
  if (m) return { parent: m[1], key: null };
  m = /^(?:(.*)\.)?([^.[\]]+|"(?:[^"\\]|\\.)*")$/.exec(p);
  if (m) return { parent: m[1] || '', key: m[2] };
  return { parent: '', key: null };
}
