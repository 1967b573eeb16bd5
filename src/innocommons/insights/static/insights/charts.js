/* InnoCommons statistics charts: draws every `.ic-chart[data-chart]` with Apache ECharts
 * from the JSON the server rendered beside it (labels already in the page's language).
 * Canvas renderer at twice the pixel density so printed charts stay sharp; no animation,
 * so a chart is complete as soon as it is drawn (printing, screenshots). Redrawn after
 * htmx swaps and resized for print. */
(function () {
  "use strict";
  var PALETTE = ["#0b5cad", "#f5a623", "#116329", "#b42318", "#6f42c1", "#0e7c86",
    "#8a4b00", "#4a5563", "#d63384", "#20a4f3", "#7cb518", "#9c6644"];
  var lang = (document.documentElement.lang || "zh-CN").indexOf("en") === 0 ? "en" : "zh-CN";
  var numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });

  function fmt(value) {
    return value === null || value === undefined ? "–" : numberFormat.format(value);
  }

  function withUnit(value, unit) {
    return fmt(value) + (unit ? " " + unit : "");
  }

  function sankeyOption(spec) {
    var labels = {};
    spec.nodes.forEach(function (n) { labels[n.id] = n.label; });
    var used = {};
    spec.links.forEach(function (l) { used[l.source] = true; used[l.target] = true; });
    return {
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.dataType === "edge") {
            return labels[p.data.source] + " → " + labels[p.data.target] + "<br>" +
              withUnit(p.data.value, spec.unit);
          }
          return labels[p.name] + "<br>" + withUnit(p.value, spec.unit);
        }
      },
      series: [{
        type: "sankey",
        top: 8, bottom: 8, left: 8, right: 120,
        nodeAlign: "justify",
        nodeGap: 6,
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", opacity: 0.45 },
        label: { formatter: function (p) { return labels[p.name]; }, fontSize: 12 },
        data: spec.nodes.filter(function (n) { return used[n.id]; }).map(function (n) {
          return { name: n.id };
        }),
        links: spec.links
      }]
    };
  }

  function seriesOption(spec) {
    var horizontal = !!spec.horizontal;
    var many = spec.categories.length > 6;
    var categoryAxis = {
      type: "category",
      data: spec.categories,
      axisLabel: horizontal ? { width: 180, overflow: "truncate" }
        : { interval: 0, rotate: many ? 35 : 0, width: many ? 110 : 160, overflow: "truncate" }
    };
    var valueAxis = {
      type: "value",
      name: spec.unit || "",
      axisLabel: { formatter: function (v) { return fmt(v); } }
    };
    return {
      color: PALETTE,
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return withUnit(v, spec.unit); }
      },
      legend: { show: spec.series.length > 1, top: 0 },
      grid: {
        left: horizontal ? 190 : 56, right: 24, top: spec.series.length > 1 ? 40 : 28,
        bottom: horizontal ? 24 : (many ? 80 : 36), containLabel: false
      },
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: spec.series.map(function (s) {
        return {
          name: s.name, type: spec.type, data: s.data,
          stack: spec.stack ? "total" : undefined,
          smooth: false, symbolSize: 6,
          barMaxWidth: 36
        };
      })
    };
  }

  function pieOption(spec) {
    return {
      color: PALETTE,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return p.name + "<br>" + withUnit(p.value, spec.unit) + " (" + fmt(p.percent) + "%)";
        }
      },
      legend: { type: "scroll", orient: "vertical", right: 0, top: "middle" },
      series: [{
        type: "pie", radius: ["35%", "68%"], center: ["38%", "50%"],
        label: { formatter: "{d}%" },
        data: spec.data
      }]
    };
  }

  function option(spec) {
    if (spec.type === "sankey") return sankeyOption(spec);
    if (spec.type === "pie") return pieOption(spec);
    return seriesOption(spec);
  }

  function isEmpty(spec) {
    if (spec.type === "sankey") return !spec.links.length;
    if (spec.type === "pie") return !spec.data.length;
    return !spec.categories.length;
  }

  var charts = [];

  function draw(root) {
    if (typeof echarts === "undefined") return;
    (root || document).querySelectorAll(".ic-chart[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      if (isEmpty(spec)) {
        el.classList.add("ic-chart-empty");
        el.textContent = el.dataset.empty || "";
        el.dataset.drawn = "empty";
        return;
      }
      var chart = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: 2, locale: lang === "en" ? "EN" : "ZH" });
      var opt = option(spec);
      opt.animation = false;
      opt.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
      chart.setOption(opt);
      el.dataset.drawn = "1";
      charts.push(chart);
    });
  }

  function resizeAll() {
    charts = charts.filter(function (c) { return !c.isDisposed(); });
    charts.forEach(function (c) { c.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target) return;
    target.querySelectorAll(".ic-chart[data-drawn='1']").forEach(function (el) {
      var c = echarts.getInstanceByDom(el);
      if (c) c.dispose();
    });
  });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.detail && e.detail.elt); });
  window.addEventListener("resize", resizeAll);
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    if (mq.addEventListener) mq.addEventListener("change", resizeAll);
  }
  window.icCharts = { draw: draw, resize: resizeAll };
})();
