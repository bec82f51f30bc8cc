"""Shared layout pieces: header, navigation, footer, cards, KPI tiles, data grids and URL helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import dash_ag_grid as dag
from dash import Input, Output, State, clientside_callback, dcc, html

from app.ui import bell, ids
from app.ui.figures import CONFIG
from app.ui.i18n import MESSAGES, fmt_datetime, norm_lang, t
from app.ui.static_html import StaticHtml

if TYPE_CHECKING:
    from app.state import AppContext

NAV_ITEMS: tuple[tuple[str, str], ...] = (
    ("/", "nav.overview"),
    ("/district/all", "nav.district"),
    ("/compare", "nav.compare"),
    ("/weights", "nav.weights"),
    ("/sensitivity", "nav.sensitivity"),
    ("/data-quality", "nav.data_quality"),
    ("/methodology", "nav.methodology"),
    ("/editions", "nav.editions"),
    ("/ledger", "nav.ledger"),
    ("/targets", "nav.targets"),
)

# AG Grid's own words (pagination, filters, empty table) in Chinese.
GRID_LOCALE_ZH = {
    "noRowsToShow": "没有数据",
    "loadingOoo": "加载中…",
    "page": "页",
    "of": "/",
    "to": "至",
    "more": "更多",
    "firstPage": "首页",
    "previousPage": "上一页",
    "nextPage": "下一页",
    "lastPage": "末页",
    "pageSizeSelectorLabel": "每页行数：",
    "filterOoo": "筛选…",
    "contains": "包含",
    "notContains": "不包含",
    "equals": "等于",
    "notEqual": "不等于",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "blank": "空白",
    "notBlank": "非空白",
    "lessThan": "小于",
    "greaterThan": "大于",
    "lessThanOrEqual": "小于等于",
    "greaterThanOrEqual": "大于等于",
    "inRange": "介于",
    "andCondition": "且",
    "orCondition": "或",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "searchOoo": "搜索…",
    "selectAll": "全选",
}


# -- URL helpers ---------------------------------------------------------------------------------------------------
def query_param(search: str | None, name: str) -> str | None:
    values = parse_qs((search or "").lstrip("?")).get(name)
    return values[0] if values else None


def lang_from_search(search: str | None) -> str:
    return norm_lang(query_param(search, "lang"))


def with_query(path: str, search: str | None = None, **updates: str | None) -> str:
    """`path` with the current query string, `updates` applied (None removes a key, lang=zh is the default)."""
    q = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}
    for k, v in updates.items():
        if v is None or (k == "lang" and v == "zh"):
            q.pop(k, None)
        else:
            q[k] = v
    return path + (f"?{urlencode(q)}" if q else "")


def href(path: str, lang: str) -> str:
    return path + ("?lang=en" if lang == "en" else "")


# What a shared link carries from page to page: the language, the weight profile and the period.
SHARED_KEYS = ("lang", "profile", "period")


def shared_href(path: str, search: str | None, **updates: str | None) -> str:
    """`path` with the shared part of the current query (SHARED_KEYS) and `updates`; other keys stay behind."""
    q = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if k in SHARED_KEYS}
    return with_query(path, urlencode(q), **updates)


# -- shell ---------------------------------------------------------------------------------------------------------
def header(ctx: AppContext, search: str | None = None, pathname: str | None = None) -> html.Header:
    """The shell's header, drawn for the address when the first layout response knows it (`pathname`, `search`):
    the profile picker already on the profile a shared link names, so no callback has to set it before the page can
    draw, and the navigation, the language switch and the words already in the address's language and carrying its
    view (app/server.py redraws them when the address changes; app/assets/url-state.js keeps them current between)."""
    wanted = query_param(search, "profile")
    chosen = wanted if wanted and wanted in ctx.profile_names() else ctx.default_profile_name()
    lang = lang_from_search(search)
    here = pathname or "/"
    return html.Header(
        [
            html.Div(
                [
                    dcc.Link(html.Span(t("app.title", lang), id=ids.APP_TITLE), href=href("/", lang),
                             className="brand"),
                    html.Nav(nav_links(here, lang, search), id=ids.NAV, className="nav"),
                ],
                className="header-left",
            ),
            html.Div(
                [
                    html.Label(t("profile.label", lang), id=ids.PROFILE_LABEL, htmlFor=ids.PROFILE_SELECT,
                               className="profile-label"),
                    dcc.Dropdown(
                        id=ids.PROFILE_SELECT,
                        labels=dropdown_labels(lang),
                        options=profile_options(ctx, lang),
                        value=chosen,
                        clearable=False,
                        searchable=False,
                        persistence=True,
                        persistence_type="local",
                        className="profile-select",
                    ),
                    dcc.Link(t("lang.switch", lang), id=ids.LANG_LINK,
                             href=with_query(here, search, lang="zh" if lang == "en" else "en"), className="lang-link"),
                    bell.bell(),  # the alerts bell; app/server.py fills in the unread count
                ],
                className="header-right",
            ),
        ],
        className="header no-print",
    )


def nav_links(pathname: str, lang: str, search: str | None = None) -> list[Any]:
    """The navigation; each link keeps the shared query (language, profile, period) so a view survives a page change."""
    out = []
    for path, key in NAV_ITEMS:
        section = path.rsplit("/all", 1)[0]
        active = pathname == path or (path != "/" and pathname.startswith(section))
        link = shared_href(path, search) if search else href(path, lang)
        out.append(dcc.Link(t(key, lang), href=link, className="nav-link active" if active else "nav-link"))
    return out


DROPDOWN_LABELS = ("select_all", "deselect_all", "selected_count", "search", "clear_search", "clear_selection",
                   "no_options_found")


def dropdown_labels(lang: str) -> dcc.Dropdown.Labels:
    """dcc.Dropdown's own words ("3 selected", "Select all", ...) in the page's language (its `labels` prop); the
    `{num_selected}` placeholder is left for the component to fill. Every dropdown people use takes it, most
    through `dropdown` below (tests/app/pages/test_dropdown_labels.py)."""
    words = {k: MESSAGES[f"dropdown.{k}"][1 if lang == "en" else 0] for k in DROPDOWN_LABELS}
    return dcc.Dropdown.Labels(**words)  # type: ignore[typeddict-item]  # the keys are DROPDOWN_LABELS


def dropdown(lang: str, **props: Any) -> dcc.Dropdown:
    """A dcc.Dropdown whose own words ("已选 3 项", "全选", "没有匹配的选项") are in the page's language."""
    return dcc.Dropdown(labels=dropdown_labels(lang), **props)


def profile_options(ctx: AppContext, lang: str) -> list[dict[str, str]]:
    return [{"label": title, "value": name} for name, title in ctx.profile_titles(lang).items()]


def footer_content(ctx: AppContext, lang: str) -> list[Any]:
    snap = ctx.snapshot()
    if snap.key is None:
        return [html.Span(f"{t('footer.snapshot', lang)}: {t('footer.nodata', lang)} ({snap.path})")]
    return [
        html.Span(f"{t('footer.snapshot', lang)}: {snap.snapshot_id}", id="footer-snapshot"),
        html.Span(" · "),
        # loaded_at is stored in UTC (aware); fmt_datetime shows it in Beijing time, labelled
        html.Span(f"{t('footer.loaded', lang)} {fmt_datetime(snap.loaded_at, lang)}",
                  id="footer-loaded"),
        html.Span(" · govindex"),
    ]


# -- building blocks -----------------------------------------------------------------------------------------------
def page_title(text: str, lead: str | None = None, actions: Sequence[Any] = ()) -> html.Div:
    return html.Div(
        [
            html.Div([html.H1(text), html.P(lead, className="lead") if lead else None], className="title-text"),
            html.Div(list(actions), className="title-actions no-print"),
        ],
        className="page-title",
    )


def card(title: str | None, *children: Any, className: str = "", id: str | None = None) -> html.Section:
    kw: dict[str, Any] = {"id": id} if id else {}
    return html.Section([html.H2(title) if title else None, *children], className=f"card {className}".strip(), **kw)


def kpi(label: str, value: str, note: str | None = None, tone: str = "") -> html.Div:
    return html.Div(
        [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value"),
         html.Div(note, className="kpi-note") if note else None],
        className=f"kpi {tone}".strip(),
    )


def graph(fig_id: Any, figure: Any = None, className: str = "") -> dcc.Graph:
    kw: dict[str, Any] = {"config": CONFIG}  # a plain dict: dcc.Graph types `config` as a TypedDict
    if figure is not None:
        kw["figure"] = figure
    return dcc.Graph(id=fig_id, className=f"graph {className}".strip(), **kw)


def error_box(lang: str, message: str | None = None) -> html.Div:
    return html.Div([html.H2(t("error.title", lang)), html.P(message or t("error.nodata", lang))],
                    className="card error-box", role="alert")


def print_button(page: str, lang: str, key: str = "print") -> html.Button:
    return html.Button(t(key, lang), id=ids.print_button(page), className="button secondary", n_clicks=0)


def grid(
    grid_id: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Mapping[str, Any]],
    lang: str,
    *,
    height: int | str = 420,
    page_size: int | None = None,
    extra_options: Mapping[str, Any] | None = None,
) -> dag.AgGrid:
    """An AG Grid with the app's defaults: sortable, filterable, resizable, localised, auto-height when short."""
    options: dict[str, Any] = {"animateRows": False, "enableCellTextSelection": True, "ensureDomOrder": True}
    if lang == "zh":
        options["localeText"] = GRID_LOCALE_ZH
    if page_size:
        options.update({"pagination": True, "paginationPageSize": page_size,
                        "paginationPageSizeSelector": [page_size, page_size * 2, page_size * 5]})
    if height == "auto":
        options["domLayout"] = "autoHeight"
    options.update(extra_options or {})
    return dag.AgGrid(
        id=grid_id,
        rowData=list(rows),
        columnDefs=list(columns),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 80},
        dashGridOptions=options,
        columnSize="responsiveSizeToFit",
        style={"height": None if height == "auto" else height, "width": "100%"},
        className="grid",
    )


def col(field: str, header_key: str, lang: str, **kw: Any) -> dict[str, Any]:
    """A grid column with a translated header."""
    return {"field": field, "headerName": t(header_key, lang), **kw}


def num_col(field: str, header_key: str, lang: str, decimals: int = 1, **kw: Any) -> dict[str, Any]:
    """A right-aligned numeric column formatted with d3-format (thousands separators, fixed decimals)."""
    return {
        "field": field,
        "headerName": t(header_key, lang),
        "type": "rightAligned",
        "filter": "agNumberColumnFilter",
        "valueFormatter": {"function": f"params.value == null ? '—' : d3.format(',.{decimals}f')(params.value)"},
        **kw,
    }


def static_html(markup: str, **kw: Any) -> StaticHtml:
    """Static markup as ONE Dash component (app/ui/static_html.py: the browser parses it), for long read-only text
    and tables: the Dash renderer's cost grows with the number of components (a wrapper and a store subscription
    each), and a page of a thousand html.* components spent most of its first visit there (the methodology page,
    issue 16 goal 4). `markup` must be built by the caller with every interpolated value escaped (html.escape).
    Newlines go as &#10; and braces as &#123; &#125; (the same characters to the browser's parser): they were needed
    when dcc.Markdown carried the markup (a blank line ended the HTML block; `{...}` was read as an expression and
    blanked the district's table of rejected rows) and keep the markup safe to hand to it again."""
    return StaticHtml(markup.replace("\r", "").replace("\n", "&#10;").replace("{", "&#123;").replace("}", "&#125;"),
                      **kw)


#: the browser-side check of a page whose body is drawn in its first layout (app/web/initial_page.py): the pickers'
#: profile (and period, on pages that have one) against the ones drawn; only a difference sets the page's "wanted"
#: store, whose callback redraws. The last argument is the drawn store (a State); a page without a period picker
#: passes none, and its drawn store names no period.
_DRAWN_CHECK = """function(profile, ...rest){
    const C = window.dash_clientside;
    const drawn = rest.pop(), period = rest.length ? rest[0] : null;
    if(drawn && drawn.profile === profile && (drawn.period ?? null) === (period ?? null)){ return C.no_update; }
    return {profile: profile, period: period};
}"""


def drawn_check(wanted: str, period: str | None, drawn: str) -> None:
    """Register the check for one page: `wanted` (a dcc.Store) is set from the header's profile picker and the
    page's `period` picker (None: a page without one, as the weights page) when they differ from the `drawn` store
    (no callback request on a first visit)."""
    pickers = [Input(ids.PROFILE_SELECT, "value")] + ([Input(period, "value")] if period else [])
    clientside_callback(_DRAWN_CHECK, Output(wanted, "data"), *pickers, State(drawn, "data"))
