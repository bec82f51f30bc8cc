/* govindex: charts redrawn at the printed width, so an A4 print shows each chart whole (not cut at the card's edge),
 * and redrawn at the screen width afterwards. Runs on the browser's print (window.print, Ctrl+P) and whenever the
 * print media type is switched on (as a headless browser does before saving a PDF).
 */
(function () {
  "use strict";
  var saved = [];
  var grids = [];
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function contentWidth(gd) {
    /* the card's content box: the chart itself may be wider than the printed column and stretch its own box */
    var card = gd.closest(".card") || gd.parentElement;
    if (!card) { return 0; }
    var cs = window.getComputedStyle(card);
    return card.clientWidth - parseFloat(cs.paddingLeft || "0") - parseFloat(cs.paddingRight || "0");
  }
  function gridApi(el) {
    try { return window.dash_ag_grid && window.dash_ag_grid.getApi ? window.dash_ag_grid.getApi(el.id) : null; }
    catch (e) { return null; }
  }
  var PAPER = "186mm";  /* A4 (210 mm) less the two 12 mm margins of @page in style.css */
  function toPrint() {
    /* measured at the paper's width: at beforeprint (and under emulated print media) the page is still laid out at
       the window's width, and the printed layout comes after, at the paper's */
    var root = document.documentElement;
    var before = root.style.width;
    root.style.width = PAPER;
    try { fit(); } finally { root.style.width = before; }
  }
  function fit() {
    /* tables of a print page: every row, in the page's flow (AG Grid's print layout), columns fitted to the width */
    grids = [];
    all(".print-page div[id]").forEach(function (el) {
      if (!el.querySelector(":scope > .ag-root-wrapper, :scope > div > .ag-root-wrapper")) { return; }
      var api = gridApi(el);
      if (!api) { return; }
      grids.push([api, api.getGridOption("domLayout"), el]);
      api.setGridOption("domLayout", "print");
      api.sizeColumnsToFit();
      /* columns that cannot shrink below their minimum widths: the whole table scaled to the printed width */
      var cols = el.querySelector(".ag-center-cols-container");
      var pinned = el.querySelector(".ag-pinned-left-cols-container");
      var needed = (cols ? cols.scrollWidth : 0) + (pinned ? pinned.scrollWidth : 0);
      if (needed > el.clientWidth + 2) { el.style.zoom = String(el.clientWidth / needed); }
    });
    if (!window.Plotly || !window.Plotly.relayout) { return; }
    saved = [];
    fitCharts();
  }
  function fitCharts() {
    all(".js-plotly-plot").forEach(function (gd) {
      if (saved.some(function (x) { return x[0] === gd; })) { return; }  /* fitted already for this print */
      var width = Math.floor(contentWidth(gd));
      var drawn = gd._fullLayout ? gd._fullLayout.width : gd.clientWidth;
      if (!width || !gd.layout) { return; }
      saved.push([gd, gd.layout.width, gd.layout.height]);
      var height = gd.layout.height || (gd._fullLayout ? gd._fullLayout.height : gd.clientHeight);
      window.Plotly.relayout(gd, {width: width, height: Math.max(240, Math.round(height * 0.85))});  /* a little shorter */
    });
  }
  function toScreen() {
    grids.forEach(function (g) {
      g[2].style.zoom = "";
      g[0].setGridOption("domLayout", g[1] || "normal");
      g[0].sizeColumnsToFit();
    });
    grids = [];
    if (!window.Plotly || !window.Plotly.relayout) { return; }
    saved.forEach(function (s) {
      window.Plotly.relayout(s[0], {width: s[1] === undefined ? null : s[1], height: s[2] === undefined ? null : s[2]});
    });
    saved = [];
  }
  window.addEventListener("beforeprint", toPrint);
  window.addEventListener("afterprint", toScreen);
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    var onChange = function (e) { if (e.matches) { toPrint(); } else { toScreen(); } };
    if (mq.addEventListener) { mq.addEventListener("change", onChange); } else if (mq.addListener) { mq.addListener(onChange); }
  }
  window.govindexPrintLayout = toPrint;  /* for the print button and tests */
  /* the charts drawn after the print began (below the first screen, app/assets/graph-lazy.js): fitted as the others,
     which are left as they are */
  window.govindexPrintFitNew = function () {
    if (!window.Plotly || !window.Plotly.relayout) { return; }
    var root = document.documentElement;
    var before = root.style.width;
    root.style.width = PAPER;
    try { fitCharts(); } finally { root.style.width = before; }
  };
})();
