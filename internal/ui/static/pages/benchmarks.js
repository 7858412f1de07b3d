// pages/benchmarks.js: configure and start a run (POST /runs), then watch
// it live. A run already going when the page opens is shown live too.

import { get, post } from '../api.js';
import { errorBox, field, h, note, replace, section } from '../dom.js';
import { engineName } from '../format.js';
import { livePanel } from '../parts/live-panel.js';
import { modelsPicker } from '../parts/models-picker.js';
import { runsTable } from '../parts/runs-table.js';
import { scenariosPicker } from '../parts/scenarios-picker.js';

const input = (name, attrs = {}) => h('input', { name, id: `f-${name}`, autocomplete: 'off', ...attrs });

// numberOrUndef reads a number input: undefined when empty.
function numberOrUndef(el, int = true) {
  const v = el.value.trim();
  if (v === '') return undefined;
  return int ? parseInt(v, 10) : parseFloat(v);
}

// levels reads a load input that takes one value or a list ("1,2,4": a
// sweep, each level a stage): a number, a list of numbers, or, when a part
// is not a number, the text as typed, so that the API names the field.
function levels(el, int = true) {
  const v = el.value.trim();
  if (v === '') return undefined;
  const parts = v.split(',').map((p) => p.trim());
  const nums = parts.map((p) => (p !== '' && Number.isFinite(Number(p)) ? Number(p) : NaN));
  if (nums.some((n) => Number.isNaN(n) || (int && !Number.isInteger(n)))) return v;
  return nums.length === 1 ? nums[0] : nums;
}

function defaultEngine(engines) {
  const real = engines.find((e) => e.healthy && !e.simulated);
  return (real || engines.find((e) => e.id === 'sim') || engines[0] || {}).id;
}

export async function render(ctx) {
  const { root, signal } = ctx;
  replace(root, h('h1', null, 'Benchmarks'), note('Loading engines and suites…'));
  const [engines, suites, settings, running, recent] = await Promise.all([
    get('/engines', { signal }),
    get('/suites', { signal }),
    get('/settings', { signal }).catch(() => null),
    get('/runs?status=running&limit=1', { signal }).catch(() => []),
    get('/runs?limit=5', { signal }).catch(() => []),
  ]);
  const d = (settings && settings.defaults) || {};
  const liveBox = h('div', { id: 'live' });
  let live = null;
  const showLive = (run) => {
    if (live) live.close();
    live = livePanel(ctx, run);
    replace(liveBox, live.el);
  };

  // Engine and models.
  const engineSel = h(
    'select',
    { name: 'engine', id: 'f-engine' },
    (engines || []).map((e) => h('option', { value: e.id }, `${engineName(e)} (${e.kind})${e.healthy ? '' : ' — unreachable'}`)),
  );
  engineSel.value = defaultEngine(engines || []);
  const models = modelsPicker(signal);
  const nativeBox = h('label', { class: 'check hidden' }, input('ollama_native', { type: 'checkbox' }), ' measure Ollama’s native /api/chat (exact eval_count)');
  const onEngine = () => {
    const e = (engines || []).find((x) => x.id === engineSel.value);
    nativeBox.classList.toggle('hidden', !(e && e.kind === 'ollama'));
    models.load(e);
  };
  engineSel.addEventListener('change', onEngine);

  // Suite and scenarios.
  const suiteSel = h('select', { name: 'suite', id: 'f-suite' }, (suites || []).map((s) => h('option', { value: s.name }, `${s.name}${s.source === 'custom' ? ' (custom)' : ''} — ${s.scenarios} scenarios`)));
  suiteSel.value = d.suite && (suites || []).some((s) => s.name === d.suite) ? d.suite : (suites || []).some((s) => s.name === 'default') ? 'default' : suiteSel.value;
  // ?suite=NAME (the suite editor's "Run this suite") preselects it.
  const asked = ctx.query.get('suite');
  if (asked && (suites || []).some((s) => s.name === asked)) suiteSel.value = asked;
  const scenarios = scenariosPicker(signal);
  suiteSel.addEventListener('change', () => scenarios.load(suiteSel.value));

  // Load model.
  const modeRadios = ['sequential', 'concurrency', 'rate'].map((m) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'mode', value: m, checked: m === ((d.concurrency || 1) > 1 ? 'concurrency' : 'sequential') }), ` ${m}`));
  const concurrency = input('concurrency', { type: 'text', inputmode: 'numeric', value: d.concurrency || 2, title: 'one level, or a list to sweep: 1,2,4,8' });
  const rate = input('rate', { type: 'text', inputmode: 'decimal', value: 1, title: 'one rate, or a list to sweep: 0.5,1,2,4' });
  const arrival = h('select', { name: 'arrival', id: 'f-arrival' }, h('option', { value: 'constant' }, 'constant'), h('option', { value: 'poisson' }, 'poisson (seeded)'));
  const maxInFlight = input('max_in_flight', { type: 'number', min: 0, step: 1, placeholder: 'no cap' });
  const concBox = h('div', { class: 'mode-concurrency' }, field('Concurrency (requests in flight)', concurrency, 'a list (1,2,4,8) sweeps: each level a stage'));
  const rateBox = h('div', { class: 'mode-rate form-grid' }, field('Rate (req/s)', rate, 'a list (0.5,1,2) sweeps'), field('Arrivals', arrival), field('Max in flight', maxInFlight, 'empty: no cap'));
  const mode = () => (root.querySelector('input[name=mode]:checked') || {}).value || 'sequential';
  const onMode = () => {
    concBox.classList.toggle('hidden', mode() !== 'concurrency');
    rateBox.classList.toggle('hidden', mode() !== 'rate');
  };
  for (const r of modeRadios) r.addEventListener('change', onMode);

  // Bounds and generation.
  const requests = input('requests', { type: 'number', min: 0, step: 1, value: d.requests ?? '', placeholder: "suite's default" });
  const dur = input('duration', { type: 'text', placeholder: 'e.g. 30s (optional)' });
  const warmup = input('warmup', { type: 'number', min: 0, step: 1, value: d.warmup ?? 1 });
  const timeout = input('timeout', { type: 'text', value: d.timeout || '', placeholder: "suite's default, else 60s" });
  const maxTokens = input('max_tokens', { type: 'number', min: 1, step: 1, value: d.max_tokens || '', placeholder: "each scenario's own" });
  const temperature = input('temperature', { type: 'number', min: 0, max: 2, step: 0.1, value: d.temperature ?? '', placeholder: "each scenario's own" });
  const stream = input('stream', { type: 'checkbox', checked: d.stream !== false });
  const cacheBust = input('cache_bust', { type: 'checkbox', checked: true });
  const cold = input('cold', { type: 'checkbox' });
  // Prefix-cache control (docs/metrics.md §12): a shared prefix before
  // every prompt, prefilled every time (cold) or primed and shared (warm:
  // a cold and a warm stage side by side).
  const prefixTokens = input('prefix_tokens', { type: 'number', min: 0, step: 1, placeholder: 'none' });
  const prefixCache = h('select', { name: 'prefix_cache', id: 'f-prefix_cache' }, h('option', { value: 'cold' }, 'cold (prefilled every time)'), h('option', { value: 'warm' }, 'warm vs cold, side by side'));
  const slo = input('slo', { type: 'text', value: d.slo || '', placeholder: 'e.g. ttft=500ms,tpot=50ms' });
  const seed = input('seed', { type: 'number', step: 1, placeholder: 'random (recorded)' });
  // Context sweep (docs/metrics.md §13): one stage per input length in
  // place of the suite's scenarios; --force's twin.
  const contextSweep = input('context_sweep', { type: 'text', placeholder: 'e.g. 128,512,2k,8k (k = 1024)' });
  const force = input('force', { type: 'checkbox' });

  // Capacity search (POST /capacity, docs/metrics.md §10): the highest
  // load one model sustains on one scenario within objectives on percentiles.
  const capOn = input('capacity', { type: 'checkbox' });
  const capSlo = input('capacity_slo', { type: 'text', placeholder: 'e.g. ttft_p99=2s,tpot_p99=100ms' });
  const capBy = h('select', { name: 'capacity_by', id: 'f-capacity-by' }, h('option', { value: 'concurrency' }, 'concurrency (streams in flight)'), h('option', { value: 'rate' }, 'rate (arrivals per second)'));
  const capTime = input('capacity_max_time', { type: 'text', value: '10m' });
  const capBox = h(
    'div',
    { class: 'form-grid hidden', id: 'capacity-box' },
    field('Objectives', capSlo, 'metric_pNN=duration: ttft, tpot, e2e; p50 to p99.9'),
    field('Search by', capBy, 'starts from the Load above (1 stream, or 1 req/s)'),
    field('Time budget', capTime, 'the whole search'),
  );

  // Standard profile (POST /profile, docs/metrics.md §11): a fixed,
  // versioned workload scored against a reference; it takes the engine,
  // the models and the seed above, and nothing else.
  const profileSel = input('profile', { type: 'text', value: 'standard', title: 'standard (its newest version, standard/2), standard/1, or a variant such as standard@sustain=10m' });
  const profileButton = h('button', { type: 'button', id: 'profile-button' }, 'Run the standard profile');

  const out = h('div', { id: 'form-out' });
  const runButton = h('button', { type: 'submit', class: 'primary', id: 'run-button' }, 'Run benchmark');
  const form = h(
    'form',
    { id: 'bench-form', novalidate: true },
    h('fieldset', null, h('legend', null, 'Engine and models'), field('Engine', engineSel), models.el, nativeBox),
    h(
      'fieldset',
      null,
      h('legend', null, 'Suite and scenarios'),
      field('Suite', suiteSel),
      scenarios.el,
      field('Context sweep (input lengths in tokens)', contextSweep, 'instead of the scenarios: one stage per length, prompts of exactly that many tokens as the engine counts them; lengths beyond the context window are skipped'),
      h('label', { class: 'check' }, force, ' send what cannot fit the context window anyway'),
    ),
    h('fieldset', null, h('legend', null, 'Load'), h('div', { class: 'radios' }, modeRadios), concBox, rateBox),
    h(
      'fieldset',
      { class: 'form-grid' },
      h('legend', null, 'Requests and limits'),
      field('Requests per model × scenario', requests),
      field('Duration per model × scenario', dur, 'instead of, or as well as, a request count'),
      field('Warm-up requests per model', warmup, 'recorded, never summarised'),
      field('Timeout per request', timeout),
      field('max_tokens', maxTokens),
      field('Temperature', temperature, 'empty: not sent; 0 is sent as 0'),
      field('SLOs (for goodput)', slo),
      field('Seed', seed),
      field('Shared prefix (tokens)', prefixTokens, 'about N tokens before every prompt'),
      field('Prefix cache', prefixCache, 'warm: a cold stage, then one that primes and shares the prefix'),
      h('label', { class: 'check' }, stream, ' streaming (needed for TTFT, TPOT, ITL)'),
      h('label', { class: 'check' }, cacheBust, ' defeat prefix caches (per-request nonce)'),
      h('label', { class: 'check' }, cold, ' cold start: reload each model first and report it apart'),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Capacity'),
      h('label', { class: 'check' }, capOn, ' find the highest load within objectives (one model, one scenario; each level a stage, sized for its percentiles)'),
      capBox,
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Standard profile'),
      note('A fixed workload whose figures compare across machines: chat latency, 4k and 32k prompts, decode, 4 streams ÷ 1, sustained decode after 5 minutes, energy; each model scored against the profile\'s reference (= 100) and shown on the Leaderboard. It uses the engine, models and seed above, nothing else.'),
      h('div', { class: 'toolbar' }, field('Profile', profileSel, 'standard (standard/2), standard/1, or standard@sustain=10m (versions and variants are ranked apart)'), profileButton),
    ),
    h('div', { class: 'actions' }, runButton),
    out,
  );

  const spec = () => {
    const s = { engine: engineSel.value, models: models.selected(), suite: suiteSel.value, scenarios: scenarios.selected(), mode: mode() };
    if (s.mode === 'concurrency') s.concurrency = levels(concurrency);
    if (s.mode === 'rate') {
      s.rate = levels(rate, false);
      s.arrival = arrival.value;
      const mif = numberOrUndef(maxInFlight);
      if (mif) s.max_in_flight = mif;
    }
    const opt = { requests: numberOrUndef(requests), warmup: numberOrUndef(warmup), max_tokens: numberOrUndef(maxTokens), temperature: numberOrUndef(temperature, false), seed: numberOrUndef(seed) };
    for (const [k, v] of Object.entries(opt)) if (v !== undefined && !Number.isNaN(v)) s[k] = v;
    if (dur.value.trim()) s.duration = dur.value.trim();
    if (timeout.value.trim()) s.timeout = timeout.value.trim();
    if (slo.value.trim()) s.slo = slo.value.trim();
    s.stream = stream.checked;
    s.cache_bust = cacheBust.checked;
    if (cold.checked) s.cold = true;
    const pt = numberOrUndef(prefixTokens);
    if (pt !== undefined && !Number.isNaN(pt) && pt !== 0) {
      s.prefix_tokens = pt;
      s.prefix_cache = prefixCache.value;
    } else if (prefixCache.value === 'warm') {
      s.prefix_cache = 'warm'; // refused without prefix_tokens, naming the field
    }
    if (!nativeBox.classList.contains('hidden') && nativeBox.querySelector('input').checked) s.ollama_native = true;
    if (contextSweep.value.trim()) {
      s.context_sweep = contextSweep.value.trim();
      delete s.suite;
      delete s.scenarios;
    }
    if (force.checked) s.force = true;
    return s;
  };

  capOn.addEventListener('change', () => {
    capBox.classList.toggle('hidden', !capOn.checked);
    runButton.textContent = capOn.checked ? 'Find capacity' : 'Run benchmark';
  });

  // capacityRequest is the POST /capacity body for run spec s: the search
  // starts from the load's single level, if one of its kind is given.
  const capacityRequest = (s) => {
    const run = { ...s };
    const by = capBy.value;
    const first = (v) => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);
    for (const k of ['mode', 'concurrency', 'rate', 'arrival', 'max_in_flight']) delete run[k];
    if (by === 'concurrency' && s.mode === 'concurrency' && first(s.concurrency) !== undefined) run.concurrency = first(s.concurrency);
    if (by === 'rate' && s.mode === 'rate') {
      if (first(s.rate) !== undefined) run.rate = first(s.rate);
      if (s.arrival) run.arrival = s.arrival;
      if (s.max_in_flight) run.max_in_flight = s.max_in_flight;
    }
    return { run, capacity: { slo: capSlo.value.trim(), by, max_time: capTime.value.trim() || undefined } };
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
    const s = spec();
    const problems = [];
    if (!s.models.length) problems.push('choose at least one model');
    if (!s.context_sweep && !s.scenarios.length) problems.push('choose at least one scenario');
    if (problems.length) {
      replace(out, errorBox(new Error(problems.join('; ')), 'Not started'));
      return;
    }
    runButton.disabled = true;
    replace(out, note('Starting…'));
    try {
      const res = capOn.checked ? await post('/capacity', capacityRequest(s)) : await post('/runs', s);
      replace(out);
      showLive(res.run || { id: res.id });
      liveBox.scrollIntoView({ block: 'start' });
    } catch (e) {
      replace(out, errorBox(e, 'Not started'));
      let name = (e.field || '').split(/[.[]/)[0];
      if (capOn.checked && ['slo', 'by', 'max_time'].includes(name)) name = `capacity_${name}`;
      const el = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (el) {
        el.classList.add('invalid');
        el.focus();
      }
    } finally {
      runButton.disabled = false;
    }
  });

  profileButton.addEventListener('click', async () => {
    for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
    const body = { profile: profileSel.value.trim(), engine: engineSel.value, models: models.selected() };
    const sd = numberOrUndef(seed);
    if (sd !== undefined && !Number.isNaN(sd)) body.seed = sd;
    if (!body.models.length) {
      replace(out, errorBox(new Error('choose at least one model'), 'Not started'));
      return;
    }
    profileButton.disabled = true;
    replace(out, note('Starting…'));
    try {
      const res = await post('/profile', body);
      replace(out);
      showLive(res.run || { id: res.id });
      liveBox.scrollIntoView({ block: 'start' });
    } catch (e) {
      replace(out, errorBox(e, 'Not started'));
      const el = e.field && form.querySelector(`[name="${CSS.escape(e.field)}"]`);
      if (el) {
        el.classList.add('invalid');
        el.focus();
      }
    } finally {
      profileButton.disabled = false;
    }
  });

  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Benchmarks')),
    liveBox,
    section('New benchmark', form),
    section('Recent runs', recent && recent.length ? runsTable(recent) : note('No runs yet.')),
  );
  onMode();
  onEngine();
  await scenarios.load(suiteSel.value);
  if (running && running.length) showLive(running[0]);
}
