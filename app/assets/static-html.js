/* govindex: the StaticHtml component (app/ui/static_html.py): a <div> whose content is the server's markup, parsed by
 * the browser (innerHTML) instead of a Markdown parser in JavaScript. The Dash renderer finds it as
 * window.govindex.StaticHtml. The markup is escaped on the server (app/ui/markup.py). React sets it again only when
 * the string changes. */
(function () {
  "use strict";
  var React = window.React;
  if (!React) { return; }
  function StaticHtml(props) {
    var own = {dangerouslySetInnerHTML: {__html: props.children || ""}};
    if (props.id) { own.id = props.id; }
    if (props.className) { own.className = props.className; }
    if (props.style) { own.style = props.style; }
    return React.createElement("div", own);
  }
  StaticHtml.displayName = "StaticHtml";
  window.govindex = window.govindex || {};
  window.govindex.StaticHtml = StaticHtml;
})();
