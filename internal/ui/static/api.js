// api.js: calls to /api/v1 (fetch) and its live feeds (EventSource).
//
// Token rule: when the page was opened with ?token=T (the app listens beyond
// loopback), T is kept in sessionStorage, removed from the address bar, and
// sent as "Authorization: Bearer T" on every API call and as ?token=T on
// EventSource URLs and download links (neither can set headers).

const BASE = '/api/v1';
const TOKEN_KEY = 'flperf.token';

// captureToken moves ?token=T from the address bar into sessionStorage.
export function captureToken() {
  const url = new URL(window.location.href);
  const t = url.searchParams.get('token');
  if (t == null) return;
  try {
    sessionStorage.setItem(TOKEN_KEY, t);
  } catch {
    memoryToken = t;
  }
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

let memoryToken = '';

// token is the API token of this tab ('' when none).
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

// ApiError is an error answer of the API: status, kind, message, field.
export class ApiError extends Error {
  constructor(status, kind, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.kind = kind;
    this.field = field || '';
  }
}

// api calls the API and returns the envelope's data (raw: the body's text,
// for routes answering text/plain); it throws ApiError. body is sent as
// JSON, rawBody (a string) as is with the JSON content type; headers are
// extra request headers (If-Match).
export async function api(path, { method = 'GET', body, rawBody, headers: extra, signal, raw = false } = {}) {
  const headers = { Accept: 'application/json', ...(extra || {}) };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, signal, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (rawBody !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = rawBody;
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unavailable', 'the flperf app did not answer: is it still running?');
  }
  let doc = null;
  const text = await res.text();
  if (raw && res.ok) return text;
  if (text) {
    try {
      doc = JSON.parse(text);
    } catch {
      doc = null;
    }
  }
  if (!res.ok) {
    const e = (doc && doc.error) || {};
    const err = new ApiError(res.status, e.kind || 'internal', e.message || `HTTP ${res.status} from ${path}`, e.field);
    if (Array.isArray(e.problems)) err.problems = e.problems;
    throw err;
  }
  return doc && 'data' in doc ? doc.data : null;
}

export const get = (path, opts) => api(path, opts);
export const post = (path, body, opts) => api(path, { ...opts, method: 'POST', body });
export const put = (path, body, opts) => api(path, { ...opts, method: 'PUT', body });
export const del = (path, opts) => api(path, { ...opts, method: 'DELETE' });

// query builds "?k=v&…" from an object, skipping empty values; arrays repeat the key.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === '') continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// id encodes a path segment.
export const seg = (s) => encodeURIComponent(String(s));

// withToken adds the tab's token to an API URL that the browser fetches by
// itself (downloads, EventSource).
function withToken(url) {
  const t = token();
  if (!t) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t);
}

// apiURL is the absolute path of an API resource, token included.
export function apiURL(path) {
  return withToken(BASE + path);
}

// subscribe opens the SSE feed at path and calls handlers[type](data, id)
// for each event; the browser resumes a dropped connection with
// Last-Event-ID. The feed closes itself after "end". handlers.closed(reason)
// is called once when it is closed for good (end, error, or close()).
export function subscribe(path, handlers) {
  const es = new EventSource(apiURL(path));
  let done = false;
  const finish = (reason) => {
    if (done) return;
    done = true;
    es.close();
    if (handlers.closed) handlers.closed(reason);
  };
  for (const [type, fn] of Object.entries(handlers)) {
    if (type === 'closed' || typeof fn !== 'function') continue;
    es.addEventListener(type, (ev) => {
      let data = null;
      try {
        data = ev.data ? JSON.parse(ev.data) : null;
      } catch {
        return;
      }
      fn(data, ev.lastEventId);
    });
  }
  es.addEventListener('end', () => finish('end'));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) finish('error');
  });
  return { close: () => finish('closed') };
}
