/* govindex: load plotly.js with the page, and only as much of it as the page draws.
 *
 * dash's Graph loads plotly.js only once a chart is on screen, after the page's callbacks have answered, so on a
 * first visit the browser downloads and compiles it at the very end, in front of every chart. This script loads it
 * at once, in parallel with the callbacks. Graph takes `window.Plotly` when it is set (a promise until the script has
 * run: Graph waits on it instead of loading the script a second time).
 *
 * Which bundle: the server names it in <meta name="govindex-plotly"> (app/web/plotly_bundle.py): the cartesian
 * bundle (bars, scatters, heatmaps; a third of the full one) on most pages, the full one where a page needs more.
 * When a chart asks for a trace type the cartesian bundle lacks (a page reached by in-app navigation), the full
 * bundle is loaded then and draws it; it replaces window.Plotly from then on.
 */
(function () {
  "use strict";
  if (window.Plotly) { return; }
  /* the pages with a chart on their first screen (app/web/early_fetch.py CHART_PAGES, the same pattern); the others
     let Graph load plotly.js when they draw one (below the first screen: app/assets/graph-lazy.js) */
  var charts = /^\/(district\/(?!all\/?$)[^/]+|weights|compare)?\/?$/;
  if (!charts.test(window.location.pathname)) { return; }
  var meta = document.querySelector('meta[name="govindex-plotly"]');
  var prefix = "/";
  try {
    var cfg = JSON.parse(document.getElementById("_dash-config").textContent);
    if (cfg.requests_pathname_prefix) { prefix = cfg.requests_pathname_prefix; }
    if (cfg.serve_locally === false) { return; }  /* the CDN copy: let Graph load it as usual */
  } catch (e) { /* no config: the default prefix */ }
  var url = meta ? meta.getAttribute("content") : prefix + "_dash-component-suites/plotly/package_data/plotly.min.js";
  var fullUrl = meta ? meta.getAttribute("data-full") : url;
  var CARTESIAN = {bar: 1, box: 1, contour: 1, heatmap: 1, histogram: 1, histogram2d: 1, histogram2dcontour: 1,
                   image: 1, pie: 1, scatter: 1, scatterternary: 1, violin: 1};
  var full = null;

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = function () { resolve(window.Plotly); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function needsFull(figure) {
    var data = (figure && figure.data) || [];
    for (var i = 0; i < data.length; i++) {
      if (!CARTESIAN[(data[i] && data[i].type) || "scatter"]) { return true; }
    }
    return false;
  }

  function loadFull() {
    if (!full) { full = load(fullUrl); }  /* the full bundle sets window.Plotly when it runs */
    return full;
  }

  /* the cartesian bundle hands a figure it cannot draw to the full one */
  function guard(P) {
    ["react", "newPlot"].forEach(function (name) {
      var own = P[name];
      P[name] = function (gd, figure) {
        if (needsFull(figure)) {
          return loadFull().then(function (F) { return F[name](gd, figure); });
        }
        return own.apply(P, arguments);
      };
    });
  }

  var pending = load(url).then(function (P) {
    if (url !== fullUrl && P) { guard(P); }
    return P;
  }, function (e) { if (window.Plotly === pending) { window.Plotly = undefined; } throw e; });
  window.Plotly = pending;  /* replaced by plotly.js itself when it runs */
})();
