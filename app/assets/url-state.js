/* govindex: every in-app link carries the view in the address — language, weight profile and period (the shared
 * keys of app/ui/components.py SHARED_KEYS) — at the moment it is followed (issue 14, finding 10).
 *
 * The server draws the links from the address (the navigation by a shell callback, district links by each page), so
 * after the address changes (a profile or period chosen: replaceState; the language switched: a link) they name the
 * old view for a server round trip, and some links are drawn with the language only. Here, in the browser:
 *  - an in-app navigation (dcc.Link's pushState, or a callback setting the Location's href, as a map click does)
 *    takes the shared keys from the address as it is then; the language switch flips the address's language;
 *  - a link's href is rewritten the same way when it is pointed at, focused, pressed or its menu opened, and on every
 *    change of the address, so what is copied or opened in a new tab names the view too.
 * Other keys of a link (units=, item=) stay as the server drew them. Downloads, sign-in and Dash's own routes are
 * left alone.
 */
(function () {
  "use strict";
  var SHARED = ["lang", "profile", "period"];
  var NOT_PAGES = /^\/(?:_|assets\/|download\/|auth\/|login\b|logout\b|healthz\b|readyz\b)/;
  var prefix = "/";
  try {
    var cfg = JSON.parse(document.getElementById("_dash-config").textContent);
    if (cfg.requests_pathname_prefix) { prefix = cfg.requests_pathname_prefix; }
  } catch (e) { /* no config: the default prefix */ }

  function isPage(url) {
    if (url.origin !== window.location.origin) { return false; }
    var path = url.pathname;
    if (prefix !== "/" && path.indexOf(prefix) === 0) { path = "/" + path.slice(prefix.length); }
    return !NOT_PAGES.test(path) && !/\.[A-Za-z0-9]+$/.test(path);  /* files (.xlsx, .csv, .html) are downloads */
  }

  /* `raw` (an href or a pushState address) with the address's shared keys; for the language switch, the address
     itself (its page and all its keys: the switch's own href may still name the page before) with the language
     flipped */
  function carried(raw, flipLang) {
    var url;
    try { url = new URL(flipLang ? window.location.href : raw, window.location.href); } catch (e) { return null; }
    if (!isPage(url)) { return null; }
    var here = new URLSearchParams(window.location.search);
    SHARED.forEach(function (key) {
      var value = here.get(key);
      if (key === "lang" && flipLang) { value = value === "en" ? null : "en"; }
      if (value === null || (key === "lang" && value === "zh")) { url.searchParams.delete(key); }
      else { url.searchParams.set(key, value); }
    });
    return url.pathname + url.search + url.hash;
  }

  function isLangSwitch(a) { return a.classList.contains("lang-link"); }

  function rewrite(a) {
    var raw = a.getAttribute("href");
    if (!raw || raw.charAt(0) === "#") { return null; }
    var fixed = carried(raw, isLangSwitch(a));
    if (fixed && fixed !== raw) { a.setAttribute("href", fixed); }
    return fixed;
  }

  function rewriteAll() {
    var links = document.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) { rewrite(links[i]); }
  }
  var queued = false;
  function soon() {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; rewriteAll(); });
  }

  /* the language switch being followed: its pushState flips the language instead of carrying it */
  var flipping = false;
  var push = window.history.pushState;
  var replace = window.history.replaceState;
  window.history.pushState = function (state, title, url) {
    if (url !== undefined && url !== null) {
      var fixed = carried(String(url), flipping);
      if (fixed) { url = fixed; }
    }
    var out = push.call(this, state, title, url);
    soon();
    return out;
  };
  window.history.replaceState = function () {
    var out = replace.apply(this, arguments);
    soon();
    return out;
  };
  window.addEventListener("popstate", soon);

  function onLink(e) {
    var a = e.target && e.target.closest ? e.target.closest("a[href]") : null;
    return a ? (rewrite(a), a) : null;
  }
  document.addEventListener("click", function (e) {
    var a = onLink(e);
    if (!a || !isLangSwitch(a)) { return; }
    flipping = true;  /* dcc.Link pushes within this click's dispatch */
    window.setTimeout(function () { flipping = false; }, 0);
  }, true);
  ["pointerover", "pointerdown", "focusin", "contextmenu", "auxclick"].forEach(function (type) {
    document.addEventListener(type, onLink, true);
  });
})();
