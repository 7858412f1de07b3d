// parts/models-picker.js: the models of an engine as a checklist (variants
// of one alias stay separate: they are listed by id), plus free-form ids for
// models the engine does not list.

import { get, seg } from '../api.js';
import { errorBox, field, h, note, replace } from '../dom.js';
import { bytes } from '../format.js';

// modelsPicker returns {el, load(engine), selected()}.
export function modelsPicker(signal) {
  const list = h('div', { class: 'checklist', id: 'model-list' }, note('Choose an engine.'));
  const other = h('input', { name: 'models', id: 'f-models-other', type: 'text', autocomplete: 'off', placeholder: 'model ids, comma-separated' });
  const el = h('div', { class: 'picker' }, h('div', { class: 'label' }, 'Models'), list, field('Other models', other, 'ids the engine does not list'));
  let generation = 0;

  async function load(engine) {
    const g = ++generation;
    if (!engine) {
      replace(list, note('No engine.'));
      return;
    }
    replace(list, note('Loading models…'));
    let models;
    try {
      models = ((await get(`/engines/${seg(engine.id)}/models`, { signal })) || {}).models || [];
    } catch (e) {
      if (g === generation && e.name !== 'AbortError') replace(list, errorBox(e, 'This engine’s models could not be listed; type model ids below'));
      return;
    }
    if (g !== generation) return;
    if (!models.length) {
      replace(list, note('The engine lists no model: type model ids below.'));
      return;
    }
    replace(
      list,
      models.map((m, i) =>
        h(
          'label',
          { class: 'check model-option' },
          h('input', { type: 'checkbox', name: 'model', value: m.id, id: `model-${i}`, checked: models.length === 1 }),
          ' ',
          h('strong', null, m.id),
          h(
            'span',
            { class: 'note' },
            ' ',
            [m.alias && m.alias !== m.id ? m.alias : '', m.device, m.execution_provider, m.size_bytes ? bytes(m.size_bytes) : ''].filter(Boolean).join(' · '),
          ),
          m.loaded === true ? h('span', { class: 'badge ok' }, 'loaded') : null,
          m.downloaded === false ? h('span', { class: 'badge' }, 'not downloaded') : null,
        ),
      ),
    );
  }

  function selected() {
    const ids = [...list.querySelectorAll('input[name=model]:checked')].map((c) => c.value);
    for (const x of other.value.split(',')) {
      const t = x.trim();
      if (t && !ids.includes(t)) ids.push(t);
    }
    return ids;
  }

  return { el, load, selected };
}
