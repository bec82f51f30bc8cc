"""The first visit's size in Dash components (issue 16 goal 4: every page's first visit under 1.5 s): the Dash
renderer's cost grows with the number of components, so read-only tables go as static HTML (app/ui/markup.py)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from dash import html

from app.ui import markup
from app.web.auth import AuthSettings
from tests.app.conftest import app_config
from tests.app.views.test_methodology import _components
from tests.app.web.test_roles import _call

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Tags(HTMLParser):
    """(tag, attributes, text) of every element, in order, as a browser's parser reads the markup."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.seen.append((tag, dict(attrs), ""))

    def handle_data(self, data) -> None:
        tag, attrs, text = self.seen[-1]
        self.seen[-1] = (tag, attrs, text + data)


def test_a_component_tree_reads_back_as_the_same_elements_attributes_and_text() -> None:
    tree = html.Table([html.Tbody(html.Tr([
        html.Td(["4 < 5 & 6", html.Br(), html.Span("区间", className="ci")], title='say "x"\nnext', hidden=True,
                className="num"),
        html.Td(None, style={"minWidth": "70px"}, colSpan=2)], **{"data-indicator": "a&b"}))], id="t")
    tags = _Tags()
    tags.feed(markup.to_html(tree))
    assert tags.seen == [("table", {"id": "t"}, ""), ("tbody", {}, ""), ("tr", {"data-indicator": "a&b"}, ""),
                         ("td", {"hidden": None, "title": 'say "x"\nnext', "class": "num"}, "4 < 5 & 6"),
                         ("br", {}, ""), ("span", {"class": "ci"}, "区间"),
                         ("td", {"style": "min-width:70px", "colspan": "2"}, "")]
    assert "<br/>" in markup.to_html(tree)  # a bare <br> makes dcc.Markdown drop the whole block (seen in Chromium)
    from dash import dcc
    with pytest.raises(TypeError):
        markup.to_html(html.Div(dcc.Input(id="x")))  # a control needs the renderer: never silently static


def test_static_markup_carries_braces_as_entities() -> None:
    """dcc.Markdown reads `{...}` in raw HTML as an expression: a rejected value `{"ticket_id":"T1"}` blanked the whole
    table it was in (the district page's rejected rows, seen in Chromium). Braces go as entities, read back the same."""
    md = markup.static_tree(html.Table(html.Tbody(html.Tr(html.Td('{"ticket_id":"T1"} {{a}}')))), id="q")
    assert "{" not in md.children and "}" not in md.children
    tags = _Tags()
    tags.feed(md.children)
    assert tags.seen[-1] == ("td", {}, '{"ticket_id":"T1"} {{a}}')


@pytest.mark.slow
def test_the_district_page_is_few_components(fixture_db: Path, weights_dir: Path) -> None:
    """Its body was some 1,600-1,900 html.* components (the indicator table's rows × 14 cells and their spans, the
    targets table): now static HTML, the rows still there with their data-indicator."""
    from app.server import create_app

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})
    r = _call(client, [("district-body", "children"), ("district-drawn", "data")],
              [("district-wanted", "data", {"profile": None, "period": None})],
              [("district-code", "data", "310115"), ("district-lang", "data", "zh"), ("district-parent", "data", None)])
    assert r.status_code == 200, r.text[:500]
    body = _components(r.get_json())
    assert len(body) < 400, f"the district page's body is {len(body)} components"
    text = "".join(str(c["props"]["children"]) for c in body if c["type"] == "StaticHtml")
    assert 'id="district-indicators"' in text and text.count("data-indicator=") >= 20


def test_a_table_with_controls_stays_components() -> None:
    """The targets table with its 立项整改 buttons (pattern-matching ids a callback reads) is never made static."""
    from app.ui.ledger_panel import open_button

    with_button = html.Table(html.Tbody(html.Tr(html.Td(open_button("x", "zh")))))
    assert markup.static_unless_controls(with_button) is with_button
    for control in (html.Button("b", id="b"), html.Div(id={"type": "t", "i": 1})):
        with pytest.raises(TypeError):
            markup.to_html(html.Div(control))
    plain = markup.static_unless_controls(html.Table(html.Tbody(html.Tr(html.Td("x")))))
    assert plain.to_plotly_json()["type"] == "StaticHtml"


@pytest.mark.slow
def test_the_weights_page_draws_no_comparison_before_one_is_chosen(fixture_db: Path, weights_dir: Path) -> None:
    """On the first visit nothing is chosen to compare with: the chart invites a choice (no trace to lay out) instead
    of a one-column bump chart of every unit; choosing a profile draws the comparison."""
    from app.server import create_app
    from app.state import get_context

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})
    ctx = get_context()
    w = ctx.profile(None).resolved_weights(ctx.framework)
    other = next(n for n in ctx.profile_names() if n != ctx.profile(None).name)

    def call(others):
        r = _call(client, [("weights-compare-fig", "figure"), ("weights-compare-table", "children")],
                  [("weights-current", "data", w), ("weights-compare", "value", others)],
                  [("weights-lang", "data", "zh"), ("profile-select", "value", None)])
        assert r.status_code == 200, r.text[:300]
        return r.get_json()["response"]

    first = call(None)
    assert first["weights-compare-fig"]["figure"].get("data", []) == []
    assert first["weights-compare-table"]["children"] is None
    chosen = call([other])
    assert len(chosen["weights-compare-fig"]["figure"]["data"]) >= 2 and chosen["weights-compare-table"]["children"]


def test_short_tables_read_as_the_grid_showed_them() -> None:
    """markup.table takes the grid's column definitions: headers (naming their field), numbers with separators and
    the column's decimals (exact counts, never 万), '—' for a missing value."""
    from app.ui import components as c
    from app.ui.i18n import t

    cols = [c.col("file", "col.file", "zh"), c.num_col("rows", "col.rows_loaded", "zh", 0),
            c.num_col("share", "col.rows_loaded", "zh", 2),
            c.col("orig", "col.original", "zh", tooltipField="orig", cellClass="raw-data")]
    tags = _Tags()
    tags.feed(markup.table([{"file": "a<b>.csv", "rows": 1234567, "share": None, "orig": "x" * 50}], cols,
                           table_id="t"))
    cells = [(tag, a.get("class"), a.get("data-field"), text) for tag, a, text in tags.seen if tag in ("th", "td")]
    assert [x[3] for x in cells[:4]] == [t(k, "zh") for k in ("col.file", "col.rows_loaded", "col.rows_loaded",
                                                                "col.original")]
    assert [x[1:3] for x in cells[:4]] == [(None, "file"), ("num", "rows"), ("num", "share"), (None, "orig")]
    assert cells[4:] == [("td", None, None, "a<b>.csv"), ("td", "num", None, "1,234,567"), ("td", "num", None, "—"),
                         ("td", "raw-data", None, "x" * 50)]


@pytest.mark.slow
def test_the_data_quality_page_opens_without_a_grid(fixture_db: Path, weights_dir: Path, monkeypatch) -> None:
    """Its refresh history, file accounting and coverage summary were four AG Grids (the 1.3 MB grid script and its
    0.9 MB chunk parsed on every first visit, some 3,400 elements): short tables now go as static HTML in the first
    layout, the run history and the file accounting included; the quarantine's answer too while it is short, a grid
    (sort, filter, pages) once it is long."""
    import sys

    from app.server import create_app

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})
    layout = client.get("/_dash-layout", headers={"Referer": "http://localhost/data-quality"}).get_json()
    parts = _components(layout)
    assert not [p for p in parts if p["type"] == "AgGrid"]
    static = {p["props"].get("id"): p["props"]["children"] for p in parts if p["type"] == "StaticHtml"}
    assert {"dq-runs", "dq-files", "dq-coverage-grid"} <= set(static)
    assert static["dq-files"].count("<tr>") > 1 and 'data-field="balanced"' in static["dq-files"]
    assert len(static["dq-files"]) < 400 * static["dq-files"].count("<tr>")  # a row's cells, each once
    assert len(parts) < 120, len(parts)

    def quarantine() -> dict:
        r = _call(client, [("dq-quarantine", "children"), ("dq-quarantine-count", "children")],
                  [("dq-filter-table", "value", None), ("dq-filter-district", "value", None),
                   ("dq-filter-reason", "value", None)], [("dq-lang", "data", "zh")])
        assert r.status_code == 200, r.text[:300]
        return r.get_json()["response"]["dq-quarantine"]["children"]

    few = quarantine()
    assert few["type"] == "StaticHtml" and few["props"]["id"] == "dq-quarantine-grid"
    rows = few["props"]["children"].count("<tr>") - 1
    assert rows > 1
    monkeypatch.setattr(sys.modules["pages.data_quality"], "STATIC_ROWS", rows - 1)
    many = quarantine()
    assert many["type"] == "AgGrid" and len(many["props"]["rowData"]) == rows


@pytest.mark.slow
def test_the_district_pages_charts_come_as_plain_figures_with_the_apps_trimmed_template(
        fixture_db: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 goal 4: the district page's three charts are on its first screen and were 0.03–0.05 s each to build
    on every visit (plotly's validated object model, `make_subplots` for the trend's second axis), and each carried
    plotly's full template (~7 KB: 3-D scenes, polar, geo, two dozen trace types) for plotly.js to merge three times.
    The first layout now builds no plotly figure object and each chart carries the app's trimmed template."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    from app.server import create_app
    from app.ui import figures

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})
    built: list[int] = []
    init = go.Figure.__init__

    def counting(self, *args, **kwargs):  # every plotly figure object built while the layout is made
        built.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(go.Figure, "__init__", counting)
    r = client.get("/_dash-layout", headers={"Referer": "http://localhost/district/310115"})
    assert r.status_code == 200 and b"district-summary" in r.data
    graphs = {c["props"]["id"]: c["props"]["figure"] for c in _components(r.get_json()) if c["type"] == "Graph"}
    assert set(graphs) == {"district-priorities", "district-trend", "district-dims"}
    assert not built, f"{len(built)} plotly figure objects built for the district page's first layout"
    full = json.dumps(pio.templates["plotly"].to_plotly_json())
    trimmed = json.loads(json.dumps(figures.TEMPLATE))
    for name, fig in graphs.items():
        assert fig["data"], name  # drawn, not the "no data" figure
        assert fig["layout"]["template"] == trimmed, name
        assert len(json.dumps(fig["layout"]["template"])) < len(full) / 2, name
    assert graphs["district-trend"]["data"][1]["yaxis"] == "y2"  # the rank on its own axis, still on the right
    assert graphs["district-trend"]["layout"]["yaxis2"]["side"] == "right"
