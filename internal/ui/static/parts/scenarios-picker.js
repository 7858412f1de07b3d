// parts/scenarios-picker.js: a suite's scenarios as a checklist with select
// all/none and a preview of each prompt (untrusted text, shown as text).

import { get, seg } from '../api.js';
import { errorBox, h, note, replace } from '../dom.js';

const PREVIEW = 600;

// scenariosPicker returns {el, load(suiteName), selected()}.
export function scenariosPicker(signal) {
  const list = h('div', { class: 'checklist', id: 'scenario-list' }, note('Choose a suite.'));
  const all = h('button', { type: 'button', id: 'scenarios-all' }, 'Select all');
  const none = h('button', { type: 'button', id: 'scenarios-none' }, 'Select none');
  const setAll = (v) => {
    for (const c of list.querySelectorAll('input[name=scenario]')) c.checked = v;
  };
  all.addEventListener('click', () => setAll(true));
  none.addEventListener('click', () => setAll(false));
  const el = h('div', { class: 'picker' }, h('div', { class: 'toolbar' }, h('span', { class: 'label' }, 'Scenarios'), all, none), list);
  let generation = 0;

  async function load(name) {
    const g = ++generation;
    replace(list, note('Loading scenarios…'));
    let suite;
    try {
      suite = await get(`/suites/${seg(name)}`, { signal });
    } catch (e) {
      if (g === generation && e.name !== 'AbortError') replace(list, errorBox(e, 'Suite'));
      return;
    }
    if (g !== generation) return;
    const scs = suite.scenarios || [];
    replace(
      list,
      suite.description ? note(suite.description) : null,
      scs.map((s, i) => {
        const prompt = (s.messages || []).map((m) => `${m.role}: ${m.content}`).join('\n');
        return h(
          'div',
          { class: 'scenario-option' },
          h(
            'label',
            { class: 'check' },
            h('input', { type: 'checkbox', name: 'scenario', value: s.name, id: `scenario-${i}`, checked: true }),
            ' ',
            h('strong', null, s.name),
            s.category ? h('span', { class: 'badge' }, s.category) : null,
            h('span', { class: 'note' }, ` max_tokens ${s.max_tokens || '–'}${s.temperature != null ? ` · temperature ${s.temperature}` : ''}`),
          ),
          s.description ? h('div', { class: 'note' }, s.description) : null,
          prompt ? h('details', null, h('summary', null, 'Prompt'), h('pre', { class: 'prompt' }, prompt.length > PREVIEW ? `${prompt.slice(0, PREVIEW)}…` : prompt)) : null,
        );
      }),
    );
  }

  function selected() {
    return [...list.querySelectorAll('input[name=scenario]:checked')].map((c) => c.value);
  }

  return { el, load, selected };
}
