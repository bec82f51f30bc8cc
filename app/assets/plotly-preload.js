/* govindex: start loading plotly.js (4.6 MB) with the page rather than when the first chart mounts.
 *
 * dash's Graph loads plotly.js only once a chart is on screen, after the page's callbacks have answered, so on a
 * first visit the browser downloads and compiles it at the very end, in front of every chart. On the pages that open
 * with charts this script loads it at once, in parallel with the callbacks. Graph takes `window.Plotly` when it is
 * set (a promise until the script has run: Graph waits on it instead of loading the script a second time).
 */
(function () {
  "use strict";
  if (window.Plotly) { return; }
  var path = window.location.pathname;
  var charts = /^\/(district\/[^/]+|weights|data-quality|methodology)?\/?$/;
  if (!charts.test(path)) { return; }
  var prefix = "/";
  try {
    var cfg = JSON.parse(document.getElementById("_dash-config").textContent);
    if (cfg.requests_pathname_prefix) { prefix = cfg.requests_pathname_prefix; }
    if (cfg.serve_locally === false) { return; }  /* the CDN copy: let Graph load it as usual */
  } catch (e) { /* no config: the default prefix */ }
  var url = prefix + "_dash-component-suites/plotly/package_data/plotly.min.js";
  var pending = new Promise(function (resolve, reject) {
    var s = document.createElement("script");
    s.src = url;
    s.async = true;
    s.onload = function () { resolve(); };
    s.onerror = function (e) { if (window.Plotly === pending) { window.Plotly = undefined; } reject(e); };
    document.head.appendChild(s);
  });
  window.Plotly = pending;  /* replaced by plotly.js itself when it runs */
})();
