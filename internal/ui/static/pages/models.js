// pages/models.js: per engine, its models (catalog, downloaded, loaded) with
// device and execution provider, and actions the engine supports: download
// (with a progress bar), load, unload, test (one short completion: reply and
// latency). Adding an OpenAI-compatible endpoint is at the bottom.

import { del, get, post, seg, subscribe } from '../api.js';
import { errorBox, h, note, replace, section, tableWrap } from '../dom.js';
import { NA, bytes, dateTime, engineName, ms, count } from '../format.js';
import { healthBadge, simBadge } from '../parts/badges.js';
import { engineForm } from '../parts/engine-form.js';

function caps(e) {
  const c = e.capabilities || {};
  const on = Object.entries(c)
    .filter(([, v]) => v)
    .map(([k]) => k.replace(/_/g, ' '));
  return on.length ? on.join(', ') : 'chat completions only';
}

// testResult renders POST …/test's answer; the reply is untrusted text.
function testResult(r) {
  if (r.error) return h('div', { class: 'notice error' }, `Test failed: ${r.error}`);
  return h(
    'div',
    { class: 'test-result' },
    h('p', { class: 'note' }, `TTFT ${ms(r.ttft_ms)} · end-to-end ${ms(r.e2e_ms)} · ${count(r.output_tokens)} output tokens`),
    h('pre', { class: 'sample-text' }, r.reply || '(empty reply)'),
  );
}

function modelRow(ctx, e, m, refresh) {
  const c = e.capabilities || {};
  const status = h('td', { class: 'row-status' });
  const actions = h('td', { class: 'actions' });
  const tr = h(
    'tr',
    { dataset: { model: m.id } },
    h('th', { scope: 'row' }, m.id, m.alias && m.alias !== m.id ? h('div', { class: 'note' }, m.alias) : null),
    h('td', null, m.device || NA),
    h('td', null, m.execution_provider || NA),
    h('td', null, [m.parameters, m.quantization].filter(Boolean).join(' ') || NA),
    h('td', { class: 'num' }, m.size_bytes ? bytes(m.size_bytes) : NA),
    h('td', null, m.downloaded === true ? 'yes' : m.downloaded === false ? 'no' : NA),
    h('td', null, m.loaded === true ? h('span', { class: 'badge ok' }, 'loaded') : m.loaded === false ? 'no' : NA, m.expires_at ? h('div', { class: 'note' }, `until ${dateTime(m.expires_at)}`) : null),
    actions,
    status,
  );
  const act = (label, fn, cls) => {
    const b = h('button', { type: 'button', class: cls || null }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await fn();
      } catch (err) {
        replace(status, errorBox(err, label));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const base = `/engines/${seg(e.id)}`;
  if (c.download && m.downloaded !== true) {
    actions.append(
      act('Download', async () => {
        const { task } = await post(`${base}/pull`, { model: m.id });
        const bar = h('progress', { max: 100 });
        const text = h('span', { class: 'note' }, 'starting…');
        replace(status, bar, ' ', text);
        const feed = subscribe(`/tasks/${seg(task.id)}/events`, {
          task: (t) => {
            if (t.percent != null) bar.value = t.percent;
            else bar.removeAttribute('value');
            text.textContent = t.error ? `failed: ${t.error}` : `${t.state}${t.percent != null ? ` ${Math.round(t.percent)}\u00a0%` : ''}${t.message ? ` · ${t.message}` : ''}`;
            if (t.state === 'done') refresh();
          },
        });
        ctx.onCleanup(() => feed.close());
      }),
    );
  }
  if (c.load && m.loaded !== true) {
    actions.append(
      act('Load', async () => {
        replace(status, note('loading…'));
        await post(`${base}/load`, { model: m.id });
        refresh();
      }),
    );
  }
  if (c.unload && m.loaded === true) {
    actions.append(
      act('Unload', async () => {
        await post(`${base}/unload`, { model: m.id });
        refresh();
      }),
    );
  }
  actions.append(
    act('Test', async () => {
      replace(status, note('asking for one short completion…'));
      replace(status, testResult(await post(`${base}/test`, { model: m.id })));
    }),
  );
  return tr;
}

function engineBlock(ctx, e, reloadAll) {
  const body = h('div', null, note('Loading models…'));
  const refresh = async () => {
    try {
      const r = await get(`/engines/${seg(e.id)}/models`, { signal: ctx.signal });
      const models = (r && r.models) || [];
      if (!models.length) {
        replace(body, note('This engine lists no model.'));
        return;
      }
      const head = h('tr', null, ['Model', 'Device', 'Execution provider', 'Size class', 'On disk', 'Downloaded', 'Loaded', 'Actions', ''].map((t) => h('th', null, t)));
      replace(body, tableWrap(h('table', { class: 'data models' }, h('thead', null, head), h('tbody', null, models.map((m) => modelRow(ctx, e, m, refresh))))));
    } catch (err) {
      if (err.name !== 'AbortError') replace(body, errorBox(err, 'Models'));
    }
  };
  const remove = e.configured
    ? h('button', {
        type: 'button',
        class: 'danger',
        onclick: async (ev) => {
          if (!window.confirm(`Remove ${engineName(e)} (${e.endpoint})?`)) return;
          ev.target.disabled = true;
          try {
            await del(`/engines/${seg(e.id)}`);
            reloadAll();
          } catch (err) {
            body.prepend(errorBox(err, 'Remove'));
            ev.target.disabled = false;
          }
        },
      }, 'Remove')
    : null;
  const block = h(
    'section',
    { class: 'block engine-block', dataset: { engine: e.id } },
    h('div', { class: 'page-head' }, h('h2', null, engineName(e), ' ', simBadge(e.simulated)), h('div', null, healthBadge(e), ' ', remove)),
    h('p', { class: 'note' }, [e.kind, e.version, e.endpoint, e.detected_by ? `found by ${e.detected_by}` : ''].filter(Boolean).join(' · ')),
    h('p', { class: 'note' }, `Supports: ${caps(e)}`),
    !e.healthy && e.error ? h('p', { class: 'notice warn' }, e.error) : null,
    body,
  );
  if (e.healthy) refresh();
  else replace(body, note('Unreachable: start the engine, then refresh.'));
  return block;
}

export async function render(ctx) {
  const { root, signal } = ctx;
  const list = h('div', null, note('Looking for engines…'));
  const load = async (refresh) => {
    try {
      const engines = (await get(`/engines${refresh ? '?refresh=1' : ''}`, { signal })) || [];
      replace(list, engines.length ? engines.map((e) => engineBlock(ctx, e, () => load(false))) : note('No engine found.'));
    } catch (e) {
      if (e.name !== 'AbortError') replace(list, errorBox(e, 'Engines'));
    }
  };
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Models'), h('button', { type: 'button', onclick: () => load(true) }, 'Refresh engines')),
    list,
    section('Add an endpoint', note('Any OpenAI-compatible server (vLLM, SGLang, LM Studio, a remote llama.cpp, …).'), engineForm(() => load(false))),
  );
  await load(false);
}
