"""Methodology (方法说明): the framework tree with effective weights, every indicator's definition, the profile, and
the method rules generated from the profile's spec (app.views.methodology), with the downloadable 技术报告.

The tree is HTML, not a chart: it was a plotly sunburst, which only the full plotly.js bundle (4.8 MB) draws, and
loading it was most of this page's first visit (issue 16 goal 4). As text every node's label and weight are
readable without hovering, and the page draws no chart at all.

The long read-only parts (the tree, the indicator definitions, the reliability table) are static HTML in one component
each (components.static_html), every value escaped here: as some 1,900 html.* components they cost the Dash
renderer most of the first visit once the sunburst was gone."""

from __future__ import annotations

from html import escape

import dash
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import ids
from app.views import frames as views
from app.views.methodology import (formula_text, snapshot_audit, method_text, redundancy_lines, reliability_lines,
                                   reliability_rows)
from app.ui.i18n import fmt_datetime, fmt_pct, norm_lang, pick, t
from app.state import get_context

dash.register_page(__name__, path="/methodology", name="方法说明 Methodology",
                   title="方法说明 · 一网通办用户中心绩效指数", order=5)

PREFIX = "method"
LANG = f"{PREFIX}-lang"
BODY = f"{PREFIX}-body"


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            c.page_title(t("method.title", lang), t("method.pipeline", lang)),
            html.Div(id=BODY),
            _definitions(lang),
        ],
        className="methodology",
    )


@callback(Output(BODY, "children"), Input(ids.PROFILE_SELECT, "value"), State(LANG, "data"))
def render(profile_name: str | None, lang: str):
    ctx = get_context()
    try:
        profile = ctx.profile(profile_name)
    except LookupError as e:  # no usable weight profile: say so instead of failing
        return c.error_box(lang, str(e))
    weights = profile.resolved_weights(ctx.framework)
    m = profile.methods
    methods = [
        (t("factor.imputation", lang), m.imputation.name, m.imputation.params),
        (t("factor.treatment", lang), m.treatment.name, m.treatment.params),
        (t("factor.normalisation", lang), m.normalisation.name, m.normalisation.params),
        (t("factor.aggregation", lang), m.aggregation.name, m.aggregation.params),
    ]
    rationale = pick(profile.rationale.zh, profile.rationale.en, lang)
    rules = method_text(profile.model_spec(ctx.framework), ctx.framework, lang, profile=profile,
                        cycle=ctx.config.refresh.cycle)
    report = f"/download/methodology.html?profile={profile.name}&lang={lang}"
    return html.Div(
        [
            _tree_card(views.framework_tree(ctx, weights, lang), lang),
            c.card(
                t("method.profile", lang),
                html.H3(profile.title_en if lang == "en" else profile.title_zh, id=f"{PREFIX}-profile-title"),
                html.Div([html.Span(f"{t('method.author', lang)}: {profile.author}"),
                          html.Span(f"{t('method.date', lang)}: {fmt_datetime(profile.date, lang)}"),
                          html.Span(f"v{profile.version}"),
                          html.Span(f"{t('col.demand', lang)} {fmt_pct(weights.get('demand'), lang, 0)}")],
                         className="meta"),
                html.H3(t("method.rationale", lang)),
                html.P(rationale),
                html.H3(t("method.methods", lang)),
                html.Ul([html.Li(f"{label}: {name} {params or ''}") for label, name, params in methods]),
            ),
            c.card(
                t("method.rules", lang),
                *[html.Div([html.H3(sec.title), *[html.P(x) for x in sec.sentences]], id=f"{PREFIX}-rule-{sec.key}")
                  for sec in rules],
                html.A(t("rpt.download", lang), href=report, target="_blank", id=f"{PREFIX}-report"),
            ),
            _audit_card(profile, lang),
        ],
        className="grid-2",
    )


def _tree_card(root: views.TreeNode, lang: str) -> html.Section:
    """The framework as nested lists: the root, then the sides side by side, each node with a bar as long as its
    share of its parent and its effective weight (share of the overall score); children without weight are named
    in one line under their parent."""
    sides = "".join(_tree_branch(k, lang) for k in root.children if k.weight > 0)
    return c.card(
        t("method.tree", lang),
        html.P(t("method.tree.lead", lang), className="note"),
        c.static_html(f"{_tree_row(root, lang, 'fw-root')}<ul class='fw-tree fw-sides'>{sides}</ul>"),
        className="span-2", id=f"{PREFIX}-tree",
    )


def _tree_branch(node: views.TreeNode, lang: str) -> str:
    weighted = "".join(_tree_branch(k, lang) for k in node.children if k.weight > 0)
    unweighted = [k.label for k in node.children if k.weight <= 0]
    note = t("method.tree.unweighted", lang, items=t("read.sep", lang).join(unweighted))
    return (f"<li id='{PREFIX}-node-{escape(node.code)}'>{_tree_row(node, lang)}"
            + (f"<ul class='fw-tree'>{weighted}</ul>" if weighted else "")
            + (f"<p class='note fw-unweighted'>{escape(note)}</p>" if unweighted else "") + "</li>")


def _tree_row(node: views.TreeNode, lang: str, kind: str = "") -> str:
    title = t("method.tree.of_parent", lang, code=node.code, share=fmt_pct(node.share, lang, 0))
    return (f"<div class='fw-row {kind}' title='{escape(title)}'>"
            f"<span class='fw-label'>{escape(node.label)}</span>"
            f"<span class='fw-bar'><span style='width: {node.share * 100:.1f}%'></span></span>"
            f"<span class='fw-weight'>{escape(fmt_pct(node.weight, lang, 1))}</span></div>")


def _audit_card(profile, lang: str) -> html.Section:
    """Reliability per indicator and grain (flagged below the profile's threshold, with the grain at which each
    becomes reliable) and the double-counting check, from the snapshot's values."""
    ctx = get_context()
    thr = profile.methods.reliability_threshold
    audit = snapshot_audit(ctx, thr)
    if audit is None or audit.reliability.rows["reliability"].is_null().all():
        return c.card(t("rel.title", lang), html.P(t("rel.nodata", lang)), className="span-2")
    flags = reliability_lines(audit, ctx.catalog, lang)
    head, rows = reliability_rows(audit, ctx.catalog, lang)
    pairs = redundancy_lines(audit, ctx.catalog, lang)
    return c.card(
        t("rel.title", lang),
        html.P(t("rel.lead", lang, threshold=f"{thr:g}")),
        html.Ul([html.Li(x) for x in flags], id=f"{PREFIX}-rel-flags") if flags
        else html.P(t("rel.none", lang, threshold=f"{thr:g}")),
        c.static_html(
            f"<details><summary>{escape(t('rel.title', lang))}</summary><table class='table'><thead><tr>"
            + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in rows)
            + "</tbody></table></details>"),
        html.H3(t("dup.title", lang)),
        html.P(t("dup.lead", lang, threshold="0.9")),
        html.Ul([html.Li(x) for x in pairs], id=f"{PREFIX}-dup-pairs") if pairs
        else html.P(t("dup.none", lang, threshold="0.9")),
        className="span-2", id=f"{PREFIX}-audit",
    )


def _definitions(lang: str) -> html.Section:
    # Catalog and framework are fixed for the app's life: the definitions are built once per language and shared.
    return get_context().memo(("method-definitions", lang), lambda: _build_definitions(lang))


def _build_definitions(lang: str) -> html.Section:
    ctx = get_context()
    fw = ctx.framework

    def meta(*spans: str) -> str:
        return "<div class='meta'>" + "".join(spans) + "</div>"

    def span(text: str, title: str | None = None) -> str:
        return f"<span title='{escape(title)}'>{escape(text)}</span>" if title else f"<span>{escape(text)}</span>"

    items = []
    for d in ctx.catalog:
        context_note = (f"<p class='role-note'>{escape(t('role.context_note', lang, why=pick(d.context_note_zh, d.context_note_en, lang)))}</p>"
                        if d.role == "context" else "")
        items.append(
            f"<div class='indicator-def' id='{PREFIX}-def-{escape(d.id)}'>"
            f"<h3>{escape(pick(d.name_zh, d.name_en, lang))} · {escape(d.id)}</h3>"
            + meta(span(f"{t('col.dimension', lang)}: {views.node_label(ctx, d.parent, lang)}"),
                   span(f"{t('col.unit', lang)}: {d.unit}"),
                   span(f"{t('col.direction', lang)}: {t('dir.up' if d.direction > 0 else 'dir.down', lang)}"),
                   span(f"{t('col.goalposts', lang)}: {d.goalposts.low:g} – {d.goalposts.high:g}",
                        title=d.goalposts_source),
                   span(f"{t('col.target', lang)}: {d.target:g}") if d.target is not None else "")
            + f"<p>{escape(pick(d.description_zh, d.description_en, lang))}</p>{context_note}"
            + meta(span(f"{t('col.source', lang)}: {d.source}"))
            + meta(span(f"{t('col.goalposts_source', lang)}: {d.goalposts_source}"))
            + f"<details><summary>{escape(t('col.formula', lang))}</summary><pre>{escape(formula_text(d))}</pre></details></div>")
    if ctx.catalog.retired:
        lines = "".join(f"<li>{escape(t('retired.line', lang, id=r.id, when=r.retired_in, why=pick(r.reason_zh, r.reason_en, lang)))}</li>"
                        for r in ctx.catalog.retired)
        items.append(f"<div class='indicator-def' id='{PREFIX}-retired'><h3>{escape(t('retired.title', lang))}</h3>"
                     f"<ul>{lines}</ul></div>")
    return c.card(f"{t('method.indicators', lang)} ({len(fw.indicators)})", c.static_html("".join(items)))
