// parts/engine-form.js: add an OpenAI-compatible (or other) endpoint
// (POST /engines). The server verifies it with a real request; the API key
// stays on the server and is never shown again.

import { post } from '../api.js';
import { errorBox, field, h, replace } from '../dom.js';

const KINDS = ['auto', 'openai', 'ollama', 'llamacpp', 'vllm', 'sglang', 'lmstudio', 'foundry'];

// engineForm returns the form; onAdded(engine) is called after success.
export function engineForm(onAdded) {
  const endpoint = h('input', { name: 'endpoint', type: 'url', required: true, placeholder: 'http://127.0.0.1:8000/v1', autocomplete: 'off' });
  const kind = h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k }, k)));
  const name = h('input', { name: 'name', type: 'text', placeholder: 'optional', autocomplete: 'off' });
  const key = h('input', { name: 'api_key', type: 'password', placeholder: 'optional', autocomplete: 'off' });
  const out = h('div', { class: 'form-out' });
  const button = h('button', { type: 'submit' }, 'Add endpoint');
  const form = h(
    'form',
    { class: 'engine-form form-grid' },
    field('Endpoint URL', endpoint, 'OpenAI-compatible base URL, usually ending in /v1'),
    field('Kind', kind),
    field('Name', name),
    field('API key', key, 'kept by the server, never shown again'),
    h('div', { class: 'actions' }, button),
    out,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    replace(out, h('p', { class: 'note' }, 'Checking the endpoint with a real request…'));
    const body = { endpoint: endpoint.value.trim(), kind: kind.value };
    if (name.value.trim()) body.name = name.value.trim();
    if (key.value) body.api_key = key.value;
    try {
      const e = await post('/engines', body);
      key.value = '';
      replace(out, h('p', { class: 'notice ok' }, `Added ${e.name || e.endpoint}.`));
      if (onAdded) onAdded(e);
    } catch (err) {
      replace(out, errorBox(err, 'Not added'));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
