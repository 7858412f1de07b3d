// parts/run-samples.js: the generated text of a sample of requests. The
// text is untrusted model output: it goes into the page as a text node only.

import { h, note } from '../dom.js';
import { NA, count, modelName, ms } from '../format.js';

// runSamples renders the samples (GET /runs/{id}/samples).
export function runSamples(samples) {
  if (!samples || !samples.length) return note('No stored request texts.');
  return h(
    'div',
    { class: 'samples' },
    samples.map((s) =>
      h(
        'article',
        { class: ['sample', s.outcome === 'ok' ? null : 'failed'], dataset: { model: s.model, scenario: s.scenario } },
        h(
          'header',
          null,
          h('strong', { title: s.model }, modelName(s.model)),
          ' · ',
          s.scenario,
          ' · ',
          h('span', { class: ['badge', s.outcome === 'ok' ? 'ok' : 'bad'] }, s.outcome || NA),
          h('span', { class: 'note' }, ` TTFT ${ms(s.ttft_ms)} · E2E ${ms(s.e2e_ms)} · ${count(s.output_tokens)} output tokens`),
        ),
        h('pre', { class: 'sample-text' }, s.text || '(no text)'),
      ),
    ),
  );
}
