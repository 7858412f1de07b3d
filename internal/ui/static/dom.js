// dom.js: the one way this UI builds DOM. Text always goes in as text nodes
// (never parsed as HTML), so model output, prompts, names and error messages
// from engines can never become markup.

// Properties set as DOM properties rather than attributes.
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'indeterminate', 'open', 'multiple']);

// h creates an element: h('a', {href: '/runs', class: 'link'}, 'text', child…).
// attrs: class (string or array), dataset (object), style (object, applied
// through CSSOM: allowed by the CSP, unlike style="…" markup), on<event>
// (function), PROPS as properties, everything else as attributes (null,
// undefined and false omitted, true as an empty attribute).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv != null) el.dataset[dk] = String(dv);
      } else if (k === 'style') {
        Object.assign(el.style, v);
      } else if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (PROPS.has(k)) {
        el[k] = v;
      } else if ((k === 'href' || k === 'src' || k === 'action') && /^\s*(javascript|data|vbscript):/i.test(String(v))) {
        continue; // never a script URL
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

// append adds children (nodes, strings, numbers, nested arrays; null,
// undefined and false skipped) to el as nodes and text nodes.
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

// section is a titled block of a page.
export function section(title, ...children) {
  return h('section', { class: 'block' }, h('h2', null, title), ...children);
}

// tableWrap puts a table in a horizontally scrolling box (narrow windows).
export function tableWrap(table) {
  return h('div', { class: 'table-wrap' }, table);
}

// errorBox shows an error (an ApiError or any Error) as text.
export function errorBox(err, what) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'notice error', role: 'alert' }, what ? `${what}: ${msg}` : msg);
}

// note is an informational line.
export function note(...children) {
  return h('p', { class: 'note' }, ...children);
}

// field is a labelled form control.
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), control, hint ? h('small', { class: 'hint' }, hint) : null);
}
