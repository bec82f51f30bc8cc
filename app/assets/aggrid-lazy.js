/* govindex: AG Grid's script (1.3 MB) loaded when a grid is first on screen, not with every page.
 *
 * The server leaves dash-ag-grid's <script> tag out of the page and names its address in
 * <meta name="govindex-aggrid"> (app/web/grid_loader.py). Dash's renderer finds a component as
 * window[namespace][type]; this script sets window.dash_ag_grid to a stand-in whose AgGrid loads the real script on
 * its first mount and then draws the real AgGrid with the same props. The stand-in stays the component Dash
 * renders from then on (the real library's other exports, getApi and the like, are copied beside it), so a grid is
 * never unmounted and drawn afresh when the script arrives. Until then it keeps the grid's place with an empty box
 * of the grid's size (class govindex-grid-pending). On a page that opens with a grid (data-early on the meta tag) the
 * script starts loading at once.
 */
(function () {
  "use strict";
  var React = window.React;
  if (!React) { return; }
  var meta = document.querySelector('meta[name="govindex-aggrid"]');
  var real = (window.dash_ag_grid && window.dash_ag_grid.AgGrid) ? window.dash_ag_grid : null;
  if (!real && !meta) { return; }  /* no grid library on this page at all */
  var Real = real ? real.AgGrid : null;
  var loading = null;
  var ns = {};

  function adopt(lib) {
    /* the real library's exports beside the stand-in, which stays AgGrid */
    Object.keys(lib).forEach(function (k) { if (k !== "AgGrid") { ns[k] = lib[k]; } });
    Real = lib.AgGrid;
    Lazy.dashPersistence = Real.dashPersistence || Real.defaultProps;
    window.dash_ag_grid = ns;
    return Real;
  }

  function load() {
    if (Real) { return Promise.resolve(Real); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = meta.getAttribute("content");
        s.async = false;  /* the library finds its own address (for its lazy chunks) among the page's scripts */
        s.onload = function () {
          var lib = window.dash_ag_grid;
          if (lib && lib !== ns && lib.AgGrid) { resolve(adopt(lib)); } else { reject(new Error("dash_ag_grid did not load")); }
        };
        s.onerror = function () { loading = null; reject(new Error("dash_ag_grid: " + s.src + " failed to load")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function Lazy(props) {
    var state = React.useState(function () { return Real; });
    var Grid = state[0];
    var setGrid = state[1];
    React.useEffect(function () {
      if (Grid) { return undefined; }
      var live = true;
      load().then(function (G) { if (live) { setGrid(function () { return G; }); } },
                  function (e) { if (window.console) { window.console.error(e); } });
      return function () { live = false; };
    }, []);
    if (Grid) { return React.createElement(Grid, props); }
    return React.createElement("div", {className: ((props.className || "") + " govindex-grid-pending").trim(),
                                       style: props.style});
  }
  Lazy.displayName = "AgGrid";
  Lazy.dashRenderType = true;  /* as the real AgGrid: Dash passes it how each render was caused */

  if (real) { adopt(real); } else { ns.AgGrid = Lazy; window.dash_ag_grid = ns; }
  ns.AgGrid = Lazy;
  /* a page that opens with a grid: load it now, alongside the page's layout and callbacks */
  if (!Real && meta.getAttribute("data-early")) {
    load().catch(function (e) { if (window.console) { window.console.error(e); } });
  }
})();
