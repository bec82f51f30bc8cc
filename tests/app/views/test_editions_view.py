"""The app's editions: the "which edition" line, year on year, the /editions page's publish (roles, Chinese refusals)
and the edition line in the district scorecard."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import sys
import zipfile
from pathlib import Path

import dash
import pytest
from flask import g

from app.ui.editions import trend_card
from app.ui.i18n import t
from app.views import editions as views
from etl.contract.catalog import load_catalog
from etl.stores import editions as store
from etl.stores.profiles import load_profile
from etl.warehouse import connection as warehouse
from tests.app.conftest import app_config

FW = load_catalog().framework()


@pytest.fixture()
def app_env(warehouses, weights_dir: Path, tmp_path: Path):
    """An app over a warehouse covering 2024-2025, an editions store beside it, and the Dash pages registered."""
    from app.server import create_app
    from app.state import get_context

    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouses.synthetic(quarters=8), db)
    with warehouse.connection(db) as con:
        con.sql("CREATE TABLE data_coverage (first_day DATE NOT NULL, last_day DATE NOT NULL)")
        con.execute("INSERT INTO data_coverage VALUES (?, ?)", [dt.date(2024, 1, 1), dt.date(2025, 12, 31)])
    app = create_app(app_config(db, weights_dir, rank_samples=0))
    ctx = get_context()
    assert ctx.config.paths.editions_path == tmp_path / "editions.sqlite"  # beside the warehouse by default
    return {"app": app, "ctx": ctx, "db": db, "store": tmp_path / "editions.sqlite", "weights": weights_dir}


def _make(env, cycle: str, profile: str = "user-centred") -> store.Edition:
    prof = load_profile(profile, env["weights"])
    return store.create_edition(env["db"], env["store"], FW, prof, cycle, who="t", mc_samples=32).edition


def _page(name: str):
    return sys.modules[f"pages.{name}"]  # as create_app registered it (importing it again would register it twice)


def _as(app, role: str):
    from app.web.security import Identity

    ctx = app.server.test_request_context("/")
    ctx.push()
    g.govindex_identity = Identity(name="王五", role=role, district_code=None)
    return ctx


def test_pages_say_which_edition_they_show(app_env) -> None:
    ctx = app_env["ctx"]
    src = views.ScoreSource()
    line = views.showing_line(ctx, "user-centred", src, "zh")
    assert ctx.snapshot().data_id in line and t("editions.showing.none", "zh") in line
    ed = _make(app_env, "2025")
    store.publish_edition(app_env["store"], ed.edition_id, who="张三", reason="年度考核")
    for lang in ("zh", "en"):
        line = views.showing_line(ctx, "user-centred", src, lang)
        assert ed.edition_id in line and "张三" in line
    assert "未发布的刷新结果" in views.showing_line(ctx, "user-centred", src, "zh")
    req = _as(app_env["app"], "leader")
    try:
        body = str(_page("overview").render({"profile": "user-centred", "period": None}, "zh"))
        assert "overview-edition" in body and ed.edition_id in body and "editions-trend" in body
        body = str(_page("district")._body("user-centred", "310101", "zh"))
        assert "district-edition" in body and "editions-trend-table" in body
    finally:
        req.pop()


def test_year_on_year_shows_each_published_cycle_and_method_changes(app_env) -> None:
    ctx = app_env["ctx"]
    assert views.trend_view(ctx, "user-centred", "zh").cycles == ()
    for cycle in ("2024", "2025"):
        store.publish_edition(app_env["store"], _make(app_env, cycle).edition_id, who="a", reason="r")
    view = views.trend_view(ctx, "user-centred", "zh", unit="310101")
    assert view.cycles == ("2024", "2025") and view.table.height == 2
    assert {"composite", "supply", "demand", "rank"} <= set(view.table.columns)
    assert view.method_notes == ()  # same method both years
    wide = views.overview_trend_frame(views.trend_view(ctx, "user-centred", "zh"), "zh")
    assert wide.height == 16 and set(wide.columns) == {"name", "2024", "2025"}
    shown = str(trend_card(views.trend_view(ctx, "user-centred", "zh"), "zh"))  # cycles read as periods
    assert "'headerName': '2025年'" in shown and "'headerName': '2025'" not in shown
    table = str(trend_card(view, "zh", unit="310101"))
    assert "2024年" in table and "2025年" in table


def test_the_editions_page_lists_diffs_and_publishes_for_allowed_roles_only(app_env) -> None:
    from app.web.security import Refused

    page = _page("editions")
    a = _make(app_env, "2025")
    b = _make(app_env, "2025", "supply-led")
    req = _as(app_env["app"], "assessor")
    try:
        listing = page.show(0, "zh")
        assert listing[1] == [{"label": b.edition_id, "value": b.edition_id},
                              {"label": a.edition_id, "value": a.edition_id}]  # drafts, newest first
        diff = str(page.diff(a.edition_id, b.edition_id, "zh"))
        assert t("editions.diff.same_data", "zh") in diff and "spec.weights" in diff  # method moved, not data
        msg, _ = page.publish(1, a.edition_id, "", 0, "zh")
        assert t("editions.publish.pick", "zh") in str(msg)
        msg, _ = page.publish(1, a.edition_id, "年度考核", 0, "zh")
        assert t("editions.publish.done", "zh", edition=a.edition_id) in str(msg)
        msg, _ = page.publish(1, a.edition_id, "again", 0, "zh")  # one clear line, in Chinese; nothing changes
        assert "不能再次发布" in str(msg)
        assert store.get_edition(app_env["store"], a.edition_id).published_reason == "年度考核"
    finally:
        req.pop()
    req = _as(app_env["app"], "leader")
    try:
        assert "disabled=True" in str(page.layout("zh"))
        with pytest.raises(Refused):
            page.publish(1, b.edition_id, "r", 0, "zh")
        assert store.get_edition(app_env["store"], b.edition_id).status == "draft"
    finally:
        req.pop()


def test_refusals_read_in_chinese(app_env) -> None:
    cases = []
    for call in (lambda: _make(app_env, "2031"), lambda: store.get_edition(app_env["store"], "nope")):
        with pytest.raises(store.EditionError) as e:
            call()
        cases.append(views.message(e.value, "zh"))
    assert "未知的评估周期 2031" in cases[0] and "没有评估版本 nope" in cases[1]
    assert all("未作任何更改" in c for c in cases)


def test_the_scorecard_says_which_edition(app_env) -> None:
    from app.ui.exports import scorecard_xlsx
    from app.views import frames

    ctx = app_env["ctx"]
    dp = frames.district_profile(ctx, "310101", "user-centred", "zh")
    line = views.showing_line(ctx, "user-centred", dp.source, "zh")
    data = scorecard_xlsx(dp, "zh", line)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert line in strings and t("editions.export.line", "zh") in strings
    assert dash.page_registry  # pages registered once by create_app


def test_a_partial_edition_is_flagged_wherever_it_shows(app_env) -> None:
    with warehouse.connection(app_env["db"]) as con:
        con.sql("UPDATE data_coverage SET last_day = DATE '2025-10-31'")
    prof = load_profile("user-centred", app_env["weights"])
    ed = store.create_edition(app_env["db"], app_env["store"], FW, prof, "2025", who="t", mc_samples=0,
                              allow_partial=True).edition
    store.publish_edition(app_env["store"], ed.edition_id, who="a", reason="r")
    partial = t("editions.trend.partial", "zh")
    wide = views.overview_trend_frame(views.trend_view(app_env["ctx"], "user-centred", "zh"), "zh")
    assert wide.height == 16 and all(partial in cell for cell in wide["2025"].to_list())
    listing = views.editions_table(app_env["ctx"], "zh")
    assert partial in listing["status"][0] and listing["partial"][0] == "2025-11, 2025-12"
    assert listing["cycle"][0] == "2025年"  # a cycle reads as a period, not as its code
