/* govindex: a chart below the first screen is drawn when it comes near the viewport (issue 14: the cold first paint;
 * issue 16 goal 4), with a loading placeholder of the chart's size until then.
 *
 * Every dcc.Graph of the app comes from app/ui/components.py graph(). Dash's renderer finds a component as
 * window[namespace][type]; this script replaces window.dash_core_components by a copy whose Graph is a stand-in:
 * it mounts the real Graph with the same props (the figure from the layout or from a callback later: props flow
 * through, so a chart scrolled to before its figure arrives draws it when it comes) once its placeholder is
 *  - on the first screen at mount (checked before the browser paints: those charts draw at once);
 *  - within one screen of the viewport (IntersectionObserver; a chart in a hidden tab or container has no box and is
 *    drawn when it is shown) — after the charts on screen have drawn and the browser is idle, so they do not share
 *    the first paint with the charts in view;
 *  - or when everything is asked for: the browser's print (beforeprint, the print media type switched on) and
 *    window.govindexCharts.drawAll(), which returns a promise kept when every shown chart is drawn (the print
 *    button, docs/screenshots.py and tests use it before a full-page picture).
 * Once mounted a chart stays mounted. The placeholder (class govindex-graph-pending) keeps the chart's height and
 * shows a spinner and the label of <meta name="govindex-chart-loading"> (app/ui/i18n.py "chart.loading", in the
 * page's language), so the card is never blank and nothing shifts when the chart comes.
 */
(function () {
  "use strict";
  var React = window.React;
  if (!React || window.govindexCharts) { return; }
  var Real = null;  /* dcc's Graph */
  var waiting = [];  /* show() of every mounted placeholder */
  var eager = false;  /* print or drawAll: every chart from now on mounts at once */
  var observer = null;
  var PENDING = "govindex-graph-pending";

  function label() {
    var meta = document.querySelector('meta[name="govindex-chart-loading"]');
    var en = /[?&]lang=en/.test(window.location.search);
    if (!meta) { return en ? "Loading chart…" : "图表加载中…"; }
    return (en && meta.getAttribute("data-en")) || meta.getAttribute("content");
  }

  function onScreen(el) {
    var r = el.getBoundingClientRect();
    if (!r.width && !r.height) { return false; }  /* no box: in a hidden container */
    return r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth;
  }

  /* charts in view not drawn yet (the ones the first paint waits for) */
  function inViewPending() {
    var gs = document.querySelectorAll(".dash-graph");
    for (var i = 0; i < gs.length; i++) {
      if (gs[i].offsetParent !== null && !gs[i].querySelector(".main-svg") && onScreen(gs[i])) { return true; }
    }
    return false;
  }

  /* fn once the charts in view have drawn and the browser is idle (at most ~5 s later) */
  function afterInView(fn) {
    var start = Date.now();
    (function poll() {
      if (inViewPending() && Date.now() - start < 5000) { window.setTimeout(poll, 60); return; }
      if (window.requestIdleCallback) { window.requestIdleCallback(fn, {timeout: 600}); } else { window.setTimeout(fn, 30); }
    })();
  }

  function near(entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting || !e.target.__govindexShow) { return; }
      var show = e.target.__govindexShow;
      if (onScreen(e.target)) { show(); } else { afterInView(show); }  /* scrolled to: at once; near: when idle */
    });
  }

  function watch(el) {
    if (!window.IntersectionObserver) { el.__govindexShow(); return; }
    if (!observer) { observer = new window.IntersectionObserver(near, {rootMargin: "100% 0px 100% 0px"}); }
    observer.observe(el);
  }

  function height(props) {
    var layout = props.figure && props.figure.layout;
    if (layout && layout.height) { return layout.height; }
    if (props.style && props.style.height) { return props.style.height; }
    return 450;  /* plotly's default height, what the real chart takes without one */
  }

  function Lazy(props) {
    var state = React.useState(eager);
    var shown = state[0];
    var setShown = state[1];
    var ref = React.useRef(null);
    React.useLayoutEffect(function () {
      if (shown) { return undefined; }
      var el = ref.current;
      var done = false;
      function show() {
        if (done) { return; }
        done = true;
        if (observer) { observer.unobserve(el); }
        var i = waiting.indexOf(show);
        if (i >= 0) { waiting.splice(i, 1); }
        setShown(true);
      }
      el.__govindexShow = show;
      if (eager || onScreen(el)) { show(); return undefined; }  /* the first screen: before the browser paints */
      waiting.push(show);
      watch(el);
      return function () {
        done = true;
        if (observer) { observer.unobserve(el); }
        var i = waiting.indexOf(show);
        if (i >= 0) { waiting.splice(i, 1); }
      };
    }, [shown]);
    if (shown) { return React.createElement(Real, props); }
    var text = label();
    return React.createElement("div", {
      id: props.id, ref: ref, className: ((props.className || "") + " " + PENDING).trim(),
      style: Object.assign({}, props.style || {}, {height: height(props)}),
      role: "img", "aria-busy": "true", "aria-label": text,
    }, React.createElement("span", {className: "govindex-graph-loading"}, text));
  }
  Lazy.displayName = "Graph";

  /* every shown chart drawn: no placeholder left, every chart that has a box has plotly's svg */
  function allDrawn() {
    if (document.querySelector("." + PENDING)) { return false; }
    var gs = document.querySelectorAll(".dash-graph");
    for (var i = 0; i < gs.length; i++) {
      if (gs[i].offsetParent !== null && !gs[i].querySelector(".main-svg")) { return false; }
    }
    return true;
  }

  function drawAll(timeoutMs) {
    eager = true;
    var flush = window.ReactDOM && window.ReactDOM.flushSync;
    var all = waiting.slice();
    var run = function () { all.forEach(function (show) { show(); }); };
    try { if (flush) { flush(run); } else { run(); } } catch (e) { run(); }
    var limit = Date.now() + (timeoutMs || 15000);
    return new Promise(function (resolve) {
      (function poll() {
        if (allDrawn() || Date.now() > limit) { resolve(); return; }
        window.setTimeout(poll, 40);
      })();
    });
  }

  function forPrint() {
    /* drawn at once for the print; the ones that were not there when print.js fitted the charts to the paper are
       fitted to it when they have drawn (print.js leaves the ones it fitted already as they are) */
    var late = document.querySelectorAll("." + PENDING);
    var printed = false;  /* a chart still to draw that the print shows (the print's CSS hides some cards) */
    for (var i = 0; i < late.length; i++) { if (late[i].offsetParent !== null) { printed = true; } }
    var p = drawAll();
    if (printed) {
      p.then(function () { if (printing && window.govindexPrintFitNew) { window.govindexPrintFitNew(); } });
    }
  }
  var printing = false;
  window.addEventListener("beforeprint", function () { printing = true; forPrint(); });
  window.addEventListener("afterprint", function () { printing = false; });
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    var onChange = function (e) { printing = e.matches; if (e.matches) { forPrint(); } };
    if (mq.addEventListener) { mq.addEventListener("change", onChange); } else if (mq.addListener) { mq.addListener(onChange); }
  }

  /* the core components with the stand-in as Graph (their exports are read-only getters: a copy) */
  function wrap(dcc) {
    if (!dcc || !dcc.Graph || dcc.Graph === Lazy) { return dcc; }
    Real = dcc.Graph;
    ["propTypes", "defaultProps", "dashPersistence", "persistenceTransforms"].forEach(function (k) {
      if (Real[k] !== undefined) { Lazy[k] = Real[k]; }
    });
    var ns = {};
    Object.keys(dcc).forEach(function (k) { ns[k] = dcc[k]; });
    ns.Graph = Lazy;
    return ns;
  }
  window.govindexCharts = {drawAll: drawAll, pending: function () { return waiting.length; }};
  if (window.dash_core_components) {
    window.dash_core_components = wrap(window.dash_core_components);
  } else {
    /* this script runs before the core components' bundle, which sets window.dash_core_components: wrapped then */
    var held;
    Object.defineProperty(window, "dash_core_components", {
      configurable: true, enumerable: true,
      get: function () { return held; },
      set: function (v) { held = wrap(v); },
    });
  }
})();
