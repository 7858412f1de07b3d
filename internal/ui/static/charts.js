// charts.js: every chart of the UI, drawn by the vendored Chart.js 4 (loaded
// on first use). Value axes are numeric (linear) with the unit in the axis
// title; confidence intervals are drawn as error bars by a small plugin.

import { h } from './dom.js';
import { isNum, num } from './format.js';

let loading = null;
const live = new Set();

// PALETTE colours datasets in order (one per model).
const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];

// color returns the i-th palette colour, with alpha when given.
function color(i, alpha) {
  const c = PALETTE[i % PALETTE.length];
  if (alpha == null) return c;
  const a = Math.round(alpha * 255).toString(16).padStart(2, '0');
  return c + a;
}

// errorBars draws dataset.errorBars[i] = [lo, hi] over bar i of a vertical
// bar chart (null: none).
const errorBars = {
  id: 'flperfErrorBars',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    chart.data.datasets.forEach((ds, i) => {
      if (!ds.errorBars || !chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      const scale = chart.scales[meta.yAxisID];
      if (!scale) return;
      ctx.save();
      ctx.strokeStyle = '#111827';
      ctx.lineWidth = 1.5;
      meta.data.forEach((bar, j) => {
        const ci = ds.errorBars[j];
        if (!ci || !isNum(ci[0]) || !isNum(ci[1])) return;
        const y0 = scale.getPixelForValue(ci[0]);
        const y1 = scale.getPixelForValue(ci[1]);
        const cap = Math.max(3, Math.min(8, (bar.width || 12) / 4));
        ctx.beginPath();
        ctx.moveTo(bar.x, y0);
        ctx.lineTo(bar.x, y1);
        ctx.moveTo(bar.x - cap, y0);
        ctx.lineTo(bar.x + cap, y0);
        ctx.moveTo(bar.x - cap, y1);
        ctx.lineTo(bar.x + cap, y1);
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};

// stageLines draws options.plugins.flperfStages.lines = [{x, label}] as
// labelled dashed vertical lines across the chart area (stage boundaries
// on a time axis). The number drawn is kept on the chart as
// chart.$flperfStageLines and on its canvas as data-stage-lines.
const stageLines = {
  id: 'flperfStages',
  afterDatasetsDraw(chart, _args, opts) {
    const lines = (opts && opts.lines) || [];
    const scale = chart.scales.x;
    const a = chart.chartArea;
    let drawn = 0;
    if (lines.length && scale && a) {
      const { ctx } = chart;
      ctx.save();
      ctx.font = `11px ${(window.Chart && window.Chart.defaults.font.family) || 'sans-serif'}`;
      ctx.textBaseline = 'top';
      lines.forEach((l, i) => {
        if (!isNum(l.x)) return;
        const px = scale.getPixelForValue(l.x);
        if (!(px >= a.left - 0.5 && px <= a.right + 0.5)) return;
        ctx.strokeStyle = '#4b5563';
        ctx.lineWidth = 1;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(px, a.top);
        ctx.lineTo(px, a.bottom);
        ctx.stroke();
        drawn++;
        // The label: right of the line, up to the next line or the edge,
        // on one of three rows so that close stages do not overlap.
        const next = lines.slice(i + 1).find((n) => isNum(n.x));
        const room = Math.min(a.right, next ? scale.getPixelForValue(next.x) : a.right) - px - 6;
        let text = String(l.label || '');
        if (!text || room < 24) return;
        if (ctx.measureText(text).width > room) {
          while (text.length > 1 && ctx.measureText(`${text}…`).width > room) text = text.slice(0, -1);
          text += '…';
        }
        const y = a.top + 2 + (i % 3) * 14;
        const w = ctx.measureText(text).width;
        ctx.setLineDash([]);
        ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
        ctx.fillRect(px + 2, y - 1, w + 4, 14);
        ctx.fillStyle = '#111827';
        ctx.fillText(text, px + 4, y);
      });
      ctx.restore();
    }
    chart.$flperfStageLines = drawn;
    chart.canvas.dataset.stageLines = String(drawn);
  },
};

// loadChart loads Chart.js once and returns its constructor.
function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL('./vendor/chart.umd.min.js', import.meta.url).href;
      s.onload = () => {
        const C = window.Chart;
        C.register(errorBars, stageLines);
        C.defaults.animation = false;
        C.defaults.responsive = true;
        C.defaults.maintainAspectRatio = false;
        C.defaults.font.family = getComputedStyle(document.body).fontFamily || 'system-ui, sans-serif';
        C.defaults.color = '#374151';
        resolve(C);
      };
      s.onerror = () => {
        loading = null;
        reject(new Error('the chart library could not be loaded'));
      };
      document.head.append(s);
    });
  }
  return loading;
}

// destroyAll destroys every chart made since the last call (page change).
export function destroyAll() {
  for (const c of live) c.destroy();
  live.clear();
}

// figure returns a captioned chart container and its canvas.
export function figure(title, id, extra) {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': title });
  const fig = h('figure', { class: 'chart' }, h('figcaption', null, title), extra || null, h('div', { class: 'chart-box' }, canvas));
  return { fig, canvas };
}

function axisTitle(text) {
  return { display: !!text, text: text || '' };
}

async function make(canvas, config) {
  const C = await loadChart();
  if (!canvas.isConnected) return null;
  const chart = new C(canvas, config);
  live.add(chart);
  return chart;
}

// tooltipValue formats a tooltip line with the dataset's unit.
function tooltipValue(unit) {
  return (item) => {
    const v = item.parsed && (isNum(item.parsed.y) ? item.parsed.y : item.parsed.r);
    const ci = item.dataset.errorBars && item.dataset.errorBars[item.dataIndex];
    let s = `${item.dataset.label}: ${num(v)} ${unit}`;
    if (ci && isNum(ci[0]) && isNum(ci[1])) s += ` (95 % CI ${num(ci[0])}–${num(ci[1])})`;
    return s;
  };
}

// barChart draws grouped vertical bars: labels on x, one dataset per
// series {label, data, errorBars?}; y is linear in unit.
export function barChart(canvas, { labels, series, unit, yTitle, xTitle }) {
  let top = 0;
  for (const s of series) {
    for (const v of s.data) if (isNum(v)) top = Math.max(top, v);
    for (const ci of s.errorBars || []) if (ci && isNum(ci[1])) top = Math.max(top, ci[1]);
  }
  return make(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data.map((v) => (isNum(v) ? v : null)),
        errorBars: s.errorBars,
        backgroundColor: color(s.colorIndex ?? i, 0.75),
        borderColor: color(s.colorIndex ?? i),
        borderWidth: 1,
      })),
    },
    options: {
      scales: {
        x: { type: 'category', title: axisTitle(xTitle) },
        y: { type: 'linear', beginAtZero: true, suggestedMax: top * 1.05 || 1, title: axisTitle(yTitle || unit) },
      },
      plugins: { tooltip: { callbacks: { label: tooltipValue(unit) } } },
    },
  });
}

// lineChart draws series of {x, y} points on two linear axes (xLog: a
// numeric logarithmic x axis, for figures against sizes that grow by
// factors, such as a context sweep's input tokens). A series with dashed
// set is dashed.
export function lineChart(canvas, { series, xTitle, yTitle, xUnit, yUnit, stepped, yMax, points, xInteger, xLog }) {
  return make(canvas, {
    type: 'line',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        borderColor: color(s.colorIndex ?? i),
        backgroundColor: color(s.colorIndex ?? i, 0.2),
        borderWidth: 1.5,
        borderDash: s.dashed ? [6, 3] : undefined,
        pointRadius: points ? 2 : 0,
        stepped: stepped ? 'after' : false,
        showLine: s.showLine !== false,
      })),
    },
    options: {
      parsing: false,
      normalized: true,
      scales: {
        x: { type: xLog ? 'logarithmic' : 'linear', title: axisTitle(xTitle), ticks: xInteger ? { precision: 0 } : {} },
        y: { type: 'linear', beginAtZero: true, max: yMax, title: axisTitle(yTitle) },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${num(item.parsed.y)} ${yUnit || ''} at ${num(item.parsed.x)} ${xUnit || ''}`,
          },
        },
      },
    },
  });
}

// timeChart draws series of {x: seconds, y} points over time, on a
// linear x axis in s and up to two linear value axes: "y" (left) and "y1"
// (right, drawn only when a series uses it). series: [{label, data, axis,
// unit, colorIndex, dashed}]; a null y is a gap, never 0. axes: {y: {title,
// min, max}, y1: {title}}. stages: [{x, label}] are drawn as labelled
// vertical lines (the stageLines plugin).
export function timeChart(canvas, { series, axes, stages, xTitle }) {
  const right = series.some((s) => s.axis === 'y1');
  const scales = {
    x: { type: 'linear', min: 0, title: axisTitle(xTitle || 'time (s)') },
    y: { type: 'linear', beginAtZero: true, min: axes.y.min, max: axes.y.max, title: axisTitle(axes.y.title) },
  };
  if (right) {
    scales.y1 = { type: 'linear', position: 'right', beginAtZero: true, title: axisTitle(axes.y1 && axes.y1.title), grid: { drawOnChartArea: false } };
  }
  return make(canvas, {
    type: 'line',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        yAxisID: s.axis || 'y',
        unit: s.unit,
        borderColor: color(s.colorIndex ?? i),
        backgroundColor: color(s.colorIndex ?? i, 0.2),
        borderWidth: 1.5,
        borderDash: s.dashed ? [6, 3] : undefined,
        pointRadius: 0,
        spanGaps: false,
      })),
    },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'index', intersect: false },
      scales,
      plugins: {
        flperfStages: { lines: stages || [] },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `${num(items[0].parsed.x)} s` : ''),
            label: (item) => `${item.dataset.label}: ${num(item.parsed.y)} ${item.dataset.unit || ''}`,
          },
        },
      },
    },
  });
}

// histogram draws counts of bins {lo, hi, count} per series on a linear x axis.
export function histogram(canvas, { series, xTitle, unit }) {
  return make(canvas, {
    type: 'bar',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.bins.map((b) => ({ x: (b.lo + b.hi) / 2, y: b.count })),
        backgroundColor: color(s.colorIndex ?? i, 0.45),
        borderColor: color(s.colorIndex ?? i),
        borderWidth: 1,
        barPercentage: 1,
        categoryPercentage: 1,
        grouped: false,
      })),
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: axisTitle(xTitle) },
        y: { type: 'linear', beginAtZero: true, title: axisTitle('requests') },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${item.parsed.y} requests around ${num(item.parsed.x)} ${unit}`,
          },
        },
      },
    },
  });
}

// radarChart draws normalised scores (0–100) per series over axes.
export function radarChart(canvas, { axes, series }) {
  return make(canvas, {
    type: 'radar',
    data: {
      labels: axes,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data.map((v) => (isNum(v) ? v : null)),
        borderColor: color(s.colorIndex ?? i),
        backgroundColor: color(s.colorIndex ?? i, 0.15),
        borderWidth: 1.5,
        pointRadius: 2,
        spanGaps: false,
      })),
    },
    options: {
      scales: { r: { type: 'radialLinear', min: 0, max: 100, ticks: { stepSize: 25, backdropColor: 'transparent' } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${num(item.parsed.r)} / 100` } } },
    },
  });
}

// curveChart draws a load sweep's throughput–latency curve: series of
// {x, y, stage} points on two linear axes, joined in load order (never
// sorted by x: past saturation throughput may fall). A series with knee
// set is drawn as one large cross and no line; dashed ones are dashed.
export function curveChart(canvas, { series, xTitle, yTitle, xUnit, yUnit }) {
  return make(canvas, {
    type: 'line',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        borderColor: color(s.colorIndex ?? i),
        backgroundColor: color(s.colorIndex ?? i, 0.25),
        borderWidth: s.knee ? 2.5 : 1.5,
        borderDash: s.dashed ? [6, 3] : undefined,
        pointRadius: s.knee ? 9 : 3,
        pointStyle: s.knee ? 'crossRot' : 'circle',
        showLine: !s.knee,
        knee: !!s.knee,
      })),
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', beginAtZero: true, title: axisTitle(xTitle) },
        y: { type: 'linear', beginAtZero: true, title: axisTitle(yTitle) },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${num(item.parsed.y)} ${yUnit || ''} at ${num(item.parsed.x)} ${xUnit || ''} (${item.raw.stage})`,
          },
        },
      },
    },
  });
}
