// format.js: numbers, units, dates and names as the UI shows them. Numbers
// stay numbers until here; null (unknown) is always "–", never 0.

// NA is shown for an unknown value.
export const NA = '–';

// modelName is how a model is shown in tables, cards and charts: an id that
// is a file path (llama-server's /models/x/rand-24M.gguf, C:\models\x.gguf,
// ./x.gguf, a relative path to a .gguf) by its file name, any other id as it
// is. The data keeps the full id, and elements that show the name carry it
// as their title. The rule of report.ModelName in Go.
export function modelName(id) {
  if (typeof id !== 'string' || !isFilePath(id)) return id;
  const p = id.replace(/[\\/]+$/, '');
  const name = p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
  return name === '' || name === '.' || name === '..' ? id : name;
}

// isFilePath says whether a model id is a file path (modelName).
function isFilePath(id) {
  return /^[\\/]/.test(id) || /^[A-Za-z]:[\\/]/.test(id) || /^(\.\.?|~)[\\/]/.test(id) || (/[\\/]/.test(id) && /\.gguf$/i.test(id));
}

// NBSP joins a number to its unit so that they never wrap apart.
const NBSP = '\u00a0';

const formats = new Map();

function formatter(d) {
  let f = formats.get(d);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    formats.set(d, f);
  }
  return f;
}

// isNum reports whether x is a finite number.
export function isNum(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

// decimals is how many decimals a value shows: 3 significant digits or so
// (0 for ≥ 100, 1 for ≥ 10, 2 for ≥ 1, 3 below; 0 for exactly 0).
function decimals(x) {
  const a = Math.abs(x);
  if (a >= 100 || a === 0) return 0;
  if (a >= 10) return 1;
  if (a >= 1) return 2;
  return 3;
}

// num formats x with d decimals (default: decimals(x)), thousands grouped.
export function num(x, d) {
  if (!isNum(x)) return NA;
  return formatter(d == null ? decimals(x) : d).format(x);
}

// sig4 formats x with four significant digits and no exponent, as the
// command line's comparison table does (0 for exactly 0).
export function sig4(x) {
  if (!isNum(x)) return NA;
  if (x === 0) return '0';
  return num(x, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x)))));
}

// withUnit formats x followed by unit; NA alone for an unknown x.
export function withUnit(x, unit, d) {
  return isNum(x) ? num(x, d) + NBSP + unit : NA;
}

export const ms = (x) => withUnit(x, 'ms');
export const tps = (x) => withUnit(x, 'tok/s');
export const rps = (x) => withUnit(x, 'req/s');
export const count = (x) => (isNum(x) ? num(x, 0) : NA);

// pct formats a fraction (0..1) as a percentage.
export function pct(frac) {
  return isNum(frac) ? withUnit(frac * 100, '%') : NA;
}

// bytes formats a byte count in GiB (MiB below 1 GiB).
export function bytes(b) {
  if (!isNum(b)) return NA;
  if (Math.abs(b) < 2 ** 30) return withUnit(b / 2 ** 20, 'MiB');
  return withUnit(b / 2 ** 30, 'GiB');
}

// mib formats a MiB count in GiB.
export function mib(m) {
  return isNum(m) ? bytes(m * 2 ** 20) : NA;
}

// duration formats milliseconds for people: "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min".
export function duration(msec) {
  if (!isNum(msec) || msec < 0) return NA;
  if (msec < 1000) return withUnit(msec, 'ms', 0);
  const s = msec / 1000;
  if (s < 60) return withUnit(s, 's', 1);
  const two = (n) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}${NBSP}min ${two(s % 60)}${NBSP}s`;
  return `${Math.floor(s / 3600)}${NBSP}h ${two((s % 3600) / 60)}${NBSP}min`;
}

// dateOf parses an RFC 3339 time; null for a missing or zero time.
function dateOf(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971) return null;
  return d;
}

// dateTime formats an RFC 3339 time in local time: "2026-11-27 16:23:18".
export function dateTime(iso, seconds = true) {
  const d = dateOf(iso);
  if (!d) return NA;
  const p = (n) => String(n).padStart(2, '0');
  const t = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  return seconds ? `${t}:${p(d.getSeconds())}` : t;
}

// timeOf formats the time of day of an RFC 3339 time.
export function timeOf(iso) {
  const s = dateTime(iso);
  return s === NA ? s : s.slice(11);
}

// runTitle names a run for people: date and time, models, suite. info is a
// RunInfo (models, suite) or a Result (config.models, suite.name).
export function runTitle(info) {
  if (!info) return NA;
  const models = (info.config && info.config.models) || (Array.isArray(info.models) ? info.models.filter((m) => typeof m === 'string') : []);
  const suite = typeof info.suite === 'string' ? info.suite : info.suite && info.suite.name;
  const parts = [dateTime(info.started, false)];
  if (models.length) parts.push(models.map(modelName).join(', '));
  if (suite) parts.push(suite);
  return parts.join(' · ');
}

// engineName names an engine: its given name, else kind and version.
export function engineName(e) {
  if (!e) return NA;
  if (e.simulated) return 'Simulated engine';
  if (e.name) return e.name;
  return [e.kind, e.version].filter(Boolean).join(' ') || e.endpoint || NA;
}

// loadMode describes a run's load model.
export function loadMode(cfg) {
  if (!cfg) return NA;
  switch (cfg.mode) {
    case 'concurrency':
      return `concurrency ${cfg.concurrency}`;
    case 'rate': {
      let s = `rate ${num(cfg.rate)}${NBSP}req/s ${cfg.arrival || 'constant'}`;
      if (cfg.max_in_flight) s += `, ≤ ${cfg.max_in_flight} in flight`;
      return s;
    }
    case 'sequential':
      return 'sequential';
    default:
      return cfg.mode || NA;
  }
}

// configLine is a one-line summary of a run's configuration: the context a
// figure came from.
export function configLine(cfg) {
  if (!cfg) return NA;
  const parts = [loadMode(cfg)];
  if (cfg.requests) parts.push(`${cfg.requests} requests`);
  if (cfg.duration && cfg.duration !== '0s') parts.push(`for ${cfg.duration}`);
  parts.push(cfg.stream ? 'streaming' : 'not streaming');
  if (cfg.max_tokens) parts.push(`max_tokens ${cfg.max_tokens}`);
  if (isNum(cfg.temperature)) parts.push(`temperature ${cfg.temperature}`);
  return parts.join(' · ');
}

// shellQuote quotes one argument for a POSIX shell when it needs it.
export function shellQuote(arg) {
  const s = String(arg);
  if (/^[A-Za-z0-9_./:=,@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// yesNo formats a tri-state boolean.
export function yesNo(b) {
  return b === true ? 'yes' : b === false ? 'no' : NA;
}

// METRICS names the metrics of the API for people.
export const METRICS = {
  ttft_ms: 'TTFT',
  ttfo_ms: 'TTFO',
  tpot_ms: 'TPOT',
  itl_ms: 'inter-token latency',
  e2e_ms: 'end-to-end latency',
  ttft_queue_ms: 'TTFT incl. queue',
  e2e_queue_ms: 'E2E incl. queue',
  decode_tps: 'decode rate',
  output_tps: 'output rate',
  prefill_tps: 'prefill rate',
};

// metricName names metric m ("ttft_ms" → "TTFT").
export function metricName(m) {
  return METRICS[m] || m;
}
