// report.js: draws the charts of a `flperf report --html` file from its
// JSON block (#flperf-data) with the Chart.js inlined before it: the
// per-scenario bars, distributions, a load sweep's curve and a context
// sweep's figures against input tokens (log x axis). The tables
// are in the page already; names reach the charts only as Chart.js labels,
// drawn on a canvas (never markup). When done it sets
// window.__flperfReport = { charts: N, error: '' }.
(function () {
  'use strict';
  var PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];
  var isNum = function (v) { return typeof v === 'number' && isFinite(v); };
  var color = function (i, alpha) {
    var c = PALETTE[i % PALETTE.length];
    return alpha == null ? c : c + Math.round(alpha * 255).toString(16).padStart(2, '0');
  };
  var stageOf = function (g) { return g.stage ? ' [' + g.stage + ']' : ''; };
  var stat = function (g, dist, field) {
    var d = g && g[dist];
    return d && isNum(d[field]) ? d[field] : null;
  };
  var ci = function (g, dist) {
    var d = g && g[dist];
    return d && Array.isArray(d.median_ci) ? d.median_ci : null;
  };

  // errorBars draws dataset.errorBars[i] = [lo, hi] over bar i.
  var errorBars = {
    id: 'flperfErrorBars',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds.errorBars || !chart.isDatasetVisible(i)) return;
        var meta = chart.getDatasetMeta(i);
        var scale = chart.scales[meta.yAxisID];
        if (!scale) return;
        ctx.save();
        ctx.strokeStyle = '#111827';
        ctx.lineWidth = 1.5;
        meta.data.forEach(function (bar, j) {
          var c = ds.errorBars[j];
          if (!c || !isNum(c[0]) || !isNum(c[1])) return;
          var y0 = scale.getPixelForValue(c[0]);
          var y1 = scale.getPixelForValue(c[1]);
          var cap = Math.max(3, Math.min(8, (bar.width || 12) / 4));
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

  var axis = function (text) { return { display: !!text, text: text || '' }; };
  var charts = 0;
  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, config);
    charts++;
  }

  // bars: grouped vertical bars, labels on x, one dataset per series; y linear.
  function bars(id, labels, series, yTitle, xTitle) {
    make(id, {
      type: 'bar',
      data: {
        labels: labels,
        datasets: series.map(function (s, i) {
          return { label: s.label, data: s.data, errorBars: s.errorBars, backgroundColor: color(i, 0.75), borderColor: color(i), borderWidth: 1 };
        }),
      },
      options: { scales: { x: { type: 'category', title: axis(xTitle) }, y: { type: 'linear', beginAtZero: true, title: axis(yTitle) } } },
    });
  }

  // lines: x and y both linear; series {label, points: [{x, y}], dash}.
  function lines(id, series, xTitle, yTitle, stepped) {
    make(id, {
      type: 'line',
      data: {
        datasets: series.map(function (s) {
          return { label: s.label, data: s.points, borderColor: color(s.color), backgroundColor: color(s.color, 0.3), borderDash: s.dash || [], stepped: !!stepped, pointRadius: stepped ? 0 : 3, spanGaps: false };
        }),
      },
      options: { scales: { x: { type: 'linear', title: axis(xTitle) }, y: { type: 'linear', beginAtZero: true, title: axis(yTitle) } } },
    });
  }

  // sweepLines: a context sweep's figure against input tokens, x on a
  // logarithmic axis (lengths span orders of magnitude); per model its
  // p50 (solid) and mean (dashed) over the lengths that ran with both the
  // input count and the figure, as the app's chart draws them.
  function sweepLines(id, sweep, name, p50Key, meanKey, yTitle) {
    var datasets = [];
    sweep.models.forEach(function (m, i) {
      [[p50Key, 'p50', false], [meanKey, 'mean', true]].forEach(function (x) {
        var ds = {
          label: name(m.model) + ' ' + x[1],
          data: m.points.filter(function (p) { return !p.skipped && isNum(p.input_tokens) && isNum(p[x[0]]); })
            .map(function (p) { return { x: p.input_tokens, y: p[x[0]] }; }),
          borderColor: color(i),
          backgroundColor: color(i, 0.3),
          pointRadius: 3,
        };
        if (x[2]) ds.borderDash = [6, 4];
        datasets.push(ds);
      });
    });
    make(id, {
      type: 'line',
      data: { datasets: datasets },
      options: { scales: { x: { type: 'logarithmic', title: axis('input tokens (log scale)') }, y: { type: 'linear', beginAtZero: true, title: axis(yTitle) } } },
    });
  }

  function drawRun(run) {
    // A model is labelled as the tables show it (report.ModelName in Go:
    // a file-path id by its file name).
    var name = function (id) { return (run.names && run.names[id]) || id; };
    var groups = run.groups || [];
    var models = run.models || [];
    if (!groups.length) return;
    var keys = [];
    var names = [];
    var byKey = {};
    groups.forEach(function (g) {
      var k = g.scenario + stageOf(g);
      if (keys.indexOf(k) < 0) keys.push(k);
      if (names.indexOf(g.model) < 0) names.push(g.model);
      byKey[g.model + '\u0000' + k] = g;
    });
    var perScenario = function (id, read, interval, yTitle) {
      bars(id, keys, names.map(function (m) {
        return {
          label: name(m),
          data: keys.map(function (k) { return read(byKey[m + '\u0000' + k]); }),
          errorBars: interval ? keys.map(function (k) { return interval(byKey[m + '\u0000' + k]); }) : undefined,
        };
      }), yTitle, 'scenario');
    };
    var p = run.prefix;
    perScenario(p + '-throughput', function (g) { return g && g.ok > 0 && isNum(g.output_tokens_per_s) ? g.output_tokens_per_s : null; }, null, 'output tokens/s (tok/s)');
    perScenario(p + '-ttft', function (g) { return stat(g, 'ttft_ms', 'p50'); }, function (g) { return ci(g, 'ttft_ms'); }, 'time to first token (ms)');
    perScenario(p + '-decode', function (g) { return stat(g, 'decode_tps', 'p50'); }, function (g) { return ci(g, 'decode_tps'); }, 'decode rate (tok/s)');
    perScenario(p + '-tpot', function (g) { return stat(g, 'tpot_ms', 'p50'); }, function (g) { return ci(g, 'tpot_ms'); }, 'time per output token (ms)');
    var fields = ['p50', 'p90', 'p95', 'p99'];
    [['e2e_ms', '-e2e-pct', 'end-to-end latency (ms)'], ['ttft_ms', '-ttft-pct', 'time to first token (ms)']].forEach(function (x) {
      bars(p + x[1], fields, models.map(function (g) {
        return {
          label: name(g.model) + stageOf(g),
          data: fields.map(function (f) { return stat(g, x[0], f); }),
          errorBars: fields.map(function (f) { return f === 'p50' ? ci(g, x[0]) : null; }),
        };
      }), x[2], 'percentile');
    });
    // Distributions: requests per bin, drawn as steps over each bin's
    // [lo, hi) on a linear axis of the metric.
    ['e2e_ms', 'ttft_ms'].forEach(function (metric) {
      var ds = (run.dists || []).filter(function (d) { return d.metric === metric; });
      lines(p + '-dist-' + metric, ds.map(function (d, i) {
        var pts = d.bins.map(function (b) { return { x: b.lo, y: b.count }; });
        if (d.bins.length) pts.push({ x: d.bins[d.bins.length - 1].hi, y: d.bins[d.bins.length - 1].count });
        return { label: name(d.model) + ' (n = ' + d.n + ')', points: pts, color: i };
      }), metric + ' (' + (ds[0] ? ds[0].unit : '') + ')', 'requests per bin', 'before');
    });
    var sweep = run.context_sweep;
    if (sweep) {
      sweepLines(p + '-context-ttft', sweep, name, 'ttft_p50_ms', 'ttft_mean_ms', 'time to first token (ms)');
      sweepLines(p + '-context-prefill', sweep, name, 'prefill_tps_p50', 'prefill_tps_mean', 'prefill rate (tok/s)');
      sweepLines(p + '-context-tpot', sweep, name, 'tpot_p50_ms', 'tpot_mean_ms', 'time per output token (ms)');
    }
    var curve = run.curve;
    if (curve) {
      [['ttft', 'time to first token (ms)'], ['tpot', 'time per output token (ms)']].forEach(function (x) {
        var series = [];
        curve.models.forEach(function (m, i) {
          ['p50', 'p99'].forEach(function (q) {
            var key = x[0] + '_' + q + '_ms';
            series.push({
              label: name(m.model) + ' ' + x[0].toUpperCase() + ' ' + q,
              color: i,
              dash: q === 'p99' ? [6, 4] : [],
              points: m.points.map(function (pt) { return { x: pt.output_tps, y: pt[key] }; }).filter(function (pt) { return isNum(pt.x) && isNum(pt.y); }),
            });
          });
        });
        lines(p + '-curve-' + x[0], series, 'output throughput (tok/s)', x[1], false);
      });
    }
  }

  var error = '';
  try {
    var C = window.Chart;
    C.register(errorBars);
    C.defaults.animation = false;
    C.defaults.responsive = true;
    C.defaults.maintainAspectRatio = false;
    C.defaults.color = '#374151';
    var doc = JSON.parse(document.getElementById('flperf-data').textContent);
    doc.runs.forEach(drawRun);
  } catch (e) {
    error = String((e && e.message) || e);
    var p = document.createElement('p');
    p.className = 'notice warn';
    p.textContent = 'The charts could not be drawn: ' + error;
    document.body.prepend(p);
  }
  window.__flperfReport = { charts: charts, error: error };
})();
