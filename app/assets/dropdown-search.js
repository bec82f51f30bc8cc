/* govindex: a drop-down opened with a value already chosen puts the keyboard in its search box, so that clicking it
 * and typing part of a name ("河北", with or without an input method) searches, as it does when nothing is chosen.
 * Dash 4's dcc.Dropdown focuses the chosen option instead (sometimes after its search box), where typed text goes
 * nowhere (issue 20.3: the national map's province drop-down stayed on 全国). Focus moved by the person — arrow keys
 * or a pointer within the open menu — is left where they put it.
 */
(function () {
  "use strict";
  var lastInput = 0;  /* when the person last moved focus (a navigation key or a pointer): their moves follow it */
  function mark() { lastInput = Date.now(); }
  /* only keys that move focus: typed letters and digits go to the search box and move nothing themselves (a focus
     move right after one is Dash's, e.g. when the filtered list re-renders, and must not keep the keyboard) */
  var MOVES = {ArrowUp: 1, ArrowDown: 1, ArrowLeft: 1, ArrowRight: 1, Tab: 1, Home: 1, End: 1, PageUp: 1, PageDown: 1};
  document.addEventListener("keydown", function (e) { if (MOVES[e.key]) { mark(); } }, true);
  document.addEventListener("pointerdown", function (e) {
    /* the click that opens a drop-down is not a move within its menu */
    if (e.target && e.target.closest && e.target.closest(".dash-dropdown-content")) { mark(); }
  }, true);

  function toSearch(menu) {
    var active = document.activeElement;
    if (active && active !== document.body && !menu.contains(active) && !(active.closest && active.closest(".dash-dropdown"))) {
      return;  /* the keyboard is in another field */
    }
    var search = menu.querySelector("input.dash-dropdown-search");
    if (search && active !== search) { search.focus(); }
  }

  document.addEventListener("focusin", function (e) {
    var target = e.target;
    if (!target || !target.closest) { return; }
    var menu = target.closest(".dash-dropdown-content");
    if (!menu || target.classList.contains("dash-dropdown-search")) { return; }
    if (Date.now() - lastInput < 400) { return; }  /* the person moved it: arrow keys or a pointer in the menu */
    toSearch(menu);
  }, true);

  /* focus dropped to the page (the focused search box or option re-rendered away) while the menu is still open */
  document.addEventListener("focusout", function (e) {
    var target = e.target;
    if (e.relatedTarget || !target || !target.closest) { return; }
    var menu = target.closest(".dash-dropdown-content");
    if (!menu) { return; }
    window.requestAnimationFrame(function () {
      var now = document.querySelector(".dash-dropdown-content");
      if (now && (document.activeElement === document.body || !document.activeElement)) { toSearch(now); }
    });
  }, true);

  /* and when a menu opens with nothing of it focused yet (Dash focuses later, or not at all on a busy page) */
  var open = null;
  new MutationObserver(function () {
    var menu = document.querySelector(".dash-dropdown-content");
    if (menu === open) { return; }
    open = menu;
    if (menu) { window.requestAnimationFrame(function () { toSearch(menu); }); }
  }).observe(document.body, {childList: true, subtree: true});
}());
