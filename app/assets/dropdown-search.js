/* govindex: a drop-down opened with a value already chosen puts the keyboard in its search box, so that clicking it
 * and typing part of a name ("河北", with or without an input method) searches, as it does when nothing is chosen.
 * Dash 4's dcc.Dropdown focuses the chosen option instead, where typed text goes nowhere (issue 20.3: the national
 * map's province drop-down stayed on 全国). Moving between options with the arrow keys is left as it is.
 */
(function () {
  "use strict";
  document.addEventListener("focusin", function (e) {
    var target = e.target;
    if (!target || !target.closest) { return; }
    var menu = target.closest(".dash-dropdown-content");
    if (!menu || target.classList.contains("dash-dropdown-search")) { return; }
    if (e.relatedTarget && menu.contains(e.relatedTarget)) { return; }  /* within the open menu: arrow keys */
    var search = menu.querySelector("input.dash-dropdown-search");
    if (search) { search.focus(); }
  }, true);
}());
