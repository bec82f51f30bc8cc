"""The method text cannot drift from the method: page and 技术报告 are generated from the profile's spec (issue 12/6)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from app.views.methodology import (Coverage, band_cuts_text, data_audit, method_text, methodology_report_html,
                                   redundancy_lines, reliability_lines)
from app.ui.i18n import t
from app.web.auth import AuthSettings
from etl.contract.catalog import load_catalog
from etl.stores.profiles import SHIPPED_DIR, load_profile
from etl.warehouse.panel import read_uncertainty_spec
from indicators.profile import WeightProfile
from indicators.spec import BandSpec, MethodSpec
from tests.app.conftest import app_config

ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _with_methods(profile: WeightProfile, **updates: object) -> WeightProfile:
    return profile.model_copy(update={"methods": profile.methods.model_copy(update=updates)})


def _text(sections) -> dict[str, str]:
    return {s.key: " ".join(s.sentences) for s in sections}


def test_method_text_follows_the_spec(catalog) -> None:
    fw = catalog.framework()
    prof = load_profile("user-centred", SHIPPED_DIR)
    shipped = _text(method_text(prof.model_spec(fw), fw, "zh", profile=prof))
    assert "目标值区间" in shipped["normalisation"] and "拟合于" not in shipped["normalisation"]
    assert "优秀 ≥ 90、良好 80–90、一般 60–80、较差 < 60" in shipped["bands"]
    assert "不插补" in shipped["missing"] and "供给 40%、需求 60%" in shipped["aggregation"]
    assert "按年度考核" in shipped["periods"] and "不完整期" in shipped["periods"]

    pooled = _with_methods(prof, normalisation=MethodSpec(name="minmax", params={"l": 0.0, "u": 100.0}))
    text = _text(method_text(pooled.model_spec(fw), fw, "zh", profile=pooled))
    assert "目标值区间" not in text["normalisation"] and "全部完整期" in text["normalisation"]
    assert "界值会变" in text["normalisation"]  # it says the pooled fit moves earlier scores
    ref = _with_methods(pooled, fit_on="reference", reference=("2025Q1", "2025Q4"))
    text = _text(method_text(ref.model_spec(fw), fw, "en", profile=ref, cycle="quarter"))
    assert "reference window 2025Q1–2025Q4, once, then frozen" in text["normalisation"]
    assert "assessment per quarter" in text["periods"]
    quant = _with_methods(prof, bands=BandSpec.model_validate({"method": "quantile"}),
                          imputation=MethodSpec(name="mean"))
    text = _text(method_text(quant.model_spec(fw), fw, "zh", profile=quant))
    assert "领先 ≥ P75" in text["bands"] and "分位数" in text["bands"] and "以 mean" in text["missing"]
    assert band_cuts_text(BandSpec(), "en") == "excellent ≥ 90; good 80–90; fair 60–80; poor < 60"


def test_the_report_holds_every_required_part_and_changes_with_the_spec(catalog) -> None:
    fw = catalog.framework()
    prof = load_profile("user-centred", SHIPPED_DIR)
    cov = Coverage(months=("2025-01", "2025-02", "2025-03", "2025-04"), complete=("2025Q1",),
                   partial={"2025Q2": ("2025-04",)}, n_units=16, n_values={"csat_index": 30}, n_missing={"csat_index": 2},
                   quarantine_total=91, quarantine_by_table={"case": 80, "rating": 11})
    report = methodology_report_html(fw, prof, catalog, cov, "zh", uncertainty=read_uncertainty_spec())
    for section in ("rpt.s.framework", "rpt.s.indicators", "rpt.s.weights", "rpt.s.method", "rpt.s.uncertainty",
                    "rpt.s.coverage"):
        assert t(section, "zh") in report
    for d in catalog:  # definition, direction, unit, source, goalposts and their source, formula
        assert f"id='def-{d.id}'" in report and d.goalposts_source.replace("'", "&#x27;") in report
    assert "@page { size: A4" in report and "不完整期：2025-04" in report and "91" in report
    assert "<td class=num>30</td>" in report  # n beside the figure
    assert prof.model_spec(fw).fingerprint() in report
    changed = _with_methods(prof, normalisation=MethodSpec(name="minmax", params={"l": 0.0, "u": 100.0}))
    other = methodology_report_html(fw, changed, catalog, cov, "zh", uncertainty=read_uncertainty_spec())
    norm = re.compile(r"<p class='mt-normalisation'>(.*?)</p>")
    assert norm.findall(report) != norm.findall(other) and "全部完整期" in norm.findall(other)[0]
    assert "s.onboarded_on &lt;= p.period_end" in report  # formulas are escaped text, not markup


def _dash_call(client, output: str, inputs: list[dict], state: list[dict]):
    deps = client.get("/_dash-dependencies").get_json() or []
    out = next(d["output"] for d in deps if re.sub(r"@[0-9a-f]+", "", d["output"]) == output)
    payload = {"output": out, "outputs": {"id": out.split(".")[0], "property": out.split(".")[1]},
               "inputs": inputs, "state": state, "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}
    return client.post("/_dash-update-component", json=payload, headers=ORIGIN)


@pytest.mark.slow
def test_changing_a_profiles_normalisation_changes_the_page_and_the_report(fixture_db: Path, weights_dir: Path) -> None:
    from app.server import create_app  # local: builds the whole Dash app; only this test needs it

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})

    def page() -> str:
        r = _dash_call(client, "method-body.children",
                       [{"id": "profile-select", "property": "value", "value": "equal"}],
                       [{"id": "method-lang", "property": "data", "value": "zh"}])
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        return json.dumps(r.get_json(), ensure_ascii=False)

    def report() -> str:
        r = client.get("/download/methodology.html?profile=equal&lang=zh")
        assert r.status_code == 200 and r.mimetype == "text/html"
        return r.get_data(as_text=True)

    before_page, before_report = page(), report()
    assert "目标值区间" in before_page and "下载技术报告" in before_page and "目标值区间" in before_report
    path = weights_dir / "equal.toml"
    text = path.read_text(encoding="utf-8")
    edited = text.replace('name = "goalposts"', 'name = "minmax"\nparams = { l = 0.0, u = 100.0 }').replace(
        "[methods]\n", '[methods]\nfit_on = "reference"\nreference = ["2024Q1", "2024Q2"]\n')
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    after_page, after_report = page(), report()
    for shown in (after_page, after_report):
        assert "参照期 2024Q1–2024Q2 内的完整期，拟合一次后冻结" in shown
    assert "各指标按指标目录中固定的目标值区间" not in after_page and "各指标按指标目录中固定的目标值区间" in before_page
    assert after_report != before_report


def test_missing_data_rules_state_k_of_n_and_shrinkage_from_the_spec(catalog) -> None:
    fw = catalog.framework()
    prof = load_profile("user-centred", SHIPPED_DIR)
    plain = _text(method_text(prof.model_spec(fw), fw, "zh", profile=prof))["missing"]
    assert t("mt.k_of_n", "zh") in plain and t("mt.shrink.none", "zh") in plain
    assert "三分之二" not in plain  # the availability share is stated once, in the aggregation rules
    agg = _text(method_text(prof.model_spec(fw), fw, "zh", profile=prof))["aggregation"]
    assert "每个维度至少需要 67% 的指标有值" in agg
    shrunk = _with_methods(prof, shrinkage="empirical_bayes")
    text = _text(method_text(shrunk.model_spec(fw), fw, "en", profile=shrunk))["missing"]
    assert "Empirical-Bayes shrinkage" in text and t("mt.shrink.none", "en") not in text


def _audit_values(fw) -> pl.DataFrame:
    """16 districts, four quarters and their year: a noisy sampled rate (30 answers a quarter), a census rate over
    the item catalogue, and the prompt gap computed from unprompted satisfaction (the same information)."""
    rng = np.random.default_rng(4)
    truth = rng.uniform(0.6, 0.8, 16)
    rows = []
    for q, period in enumerate(["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2025"]):
        grain, n = ("year", 2000) if period == "2025" else ("quarter", 30)
        for u in range(16):
            k = rng.binomial(n, truth[u])
            sat = 100 * k / n
            rows += [(f"u{u:02d}", period, grain, "hotline_satisfaction_rate", sat, float(k), float(n)),
                     (f"u{u:02d}", period, grain, "item_coverage_rate", 50 + 2 * ((7 * u) % 16), 10.0, 20.0),
                     (f"u{u:02d}", period, grain, "unprompted_satisfaction", 60 + u + q, None, None),
                     (f"u{u:02d}", period, grain, "prompt_bias_gap", 40 - u - q, None, None)]
    return pl.DataFrame(rows, schema=["unit_code", "period", "grain", "indicator_id", "value", "numerator",
                                      "denominator"], orient="row")


def test_reliability_and_double_counting_are_flagged_on_the_page_data_and_in_the_report(catalog) -> None:
    fw = catalog.framework()
    snap = SimpleNamespace(values=_audit_values(fw), complete_months=tuple(f"2025-{m:02d}" for m in range(1, 13)))
    audit = data_audit(snap, fw, catalog)
    rel = {(r["indicator"], r["grain"]): r["reliability"] for r in audit.reliability.rows.iter_rows(named=True)}
    assert rel[("hotline_satisfaction_rate", "quarter")] < 0.7 <= rel[("hotline_satisfaction_rate", "year")]
    assert rel[("item_coverage_rate", "quarter")] == 1.0  # a census of the catalogue has no sampling error
    lines = reliability_lines(audit, catalog, "zh")
    name = catalog.indicator("hotline_satisfaction_rate").name_zh
    assert lines == [f"{name}：季度信度 {rel[('hotline_satisfaction_rate', 'quarter')]:.2f}，按年度汇总后可靠"]
    pairs = redundancy_lines(audit, catalog, "zh")
    assert len(pairs) == 1 and "r = 1.00" in pairs[0]
    prof = load_profile("user-centred", SHIPPED_DIR)
    html_zh = methodology_report_html(fw, prof, catalog, Coverage(), "zh", audit=audit)
    assert "指标信度" in html_zh and "按年度汇总后可靠" in html_zh and "重复计分检查" in html_zh
    assert "数据中没有抽样误差" in methodology_report_html(fw, prof, catalog, Coverage(), "zh")


def test_the_framework_tree_gives_every_node_its_effective_weight_and_share_of_its_parent(ctx) -> None:
    """The methodology page's tree (HTML since the sunburst needed the full plotly.js): the same effective weights as
    the scoring engine's, every node once, the children's shares of a parent summing to one."""
    from app.views.frames import framework_tree

    profile = ctx.profile(None)
    tree = framework_tree(ctx, profile.resolved_weights(ctx.framework), "en")
    seen = {}

    def walk(node) -> None:
        assert node.code not in seen
        seen[node.code] = node
        if node.children:
            assert sum(k.share for k in node.children) == pytest.approx(1.0), node.code
            assert sum(k.weight for k in node.children) == pytest.approx(node.weight), node.code
        for k in node.children:
            walk(k)

    walk(tree)
    assert (tree.code, tree.weight, tree.share) == (ctx.framework.root, 1.0, 1.0)
    assert set(seen) == set(ctx.framework.codes)
    eff = profile.effective_weights(ctx.framework)
    assert {c: seen[c].weight for c in eff} == pytest.approx(eff)
    assert any(w == 0 for w in eff.values()) and any(w > 0 for w in eff.values())


def _components(node) -> list[dict]:
    """Every Dash component in a layout's or a callback answer's JSON."""
    if isinstance(node, dict):
        own = [node] if "namespace" in node and "type" in node else []
        return own + [c for v in node.values() for c in _components(v)]
    if isinstance(node, list):
        return [c for v in node for c in _components(v)]
    return []


@pytest.mark.slow
def test_the_methodology_page_is_few_components_and_its_static_html_escapes_every_value(fixture_db: Path,
                                                                                      weights_dir: Path) -> None:
    """The page was some 1,900 html.* components (every definition, the reliability table, the tree row by row) and
    the Dash renderer spent most of its first visit on them (issue 16 goal 4); the read-only parts are now static
    HTML, one component each, built with every value escaped and on one line (a blank line would end the HTML)."""
    from html import escape

    from app.server import create_app
    from app.views.methodology import formula_text

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers={"Accept": "text/html"})
    shell = _components(client.get("/_dash-layout", headers={"Referer": "http://localhost/no-such-page"}).get_json())
    layout = _components(client.get("/_dash-layout", headers={"Referer": "http://localhost/methodology"}).get_json())
    r = _dash_call(client, "method-body.children", [{"id": "profile-select", "property": "value", "value": None}],
                   [{"id": "method-lang", "property": "data", "value": "zh"}])
    assert r.status_code == 200
    body = _components(r.get_json())
    added = len(layout) - len(shell) + len(body)
    assert added < 150, f"the methodology page adds {added} components to the shell's {len(shell)}"
    markup = [str(c["props"]["children"]) for c in layout + body if c["type"] == "StaticHtml"]
    assert markup and all("\n" not in m and "{" not in m and "}" not in m for m in markup)
    text = "".join(markup)
    catalog = load_catalog()
    formulas = "".join(formula_text(d) for d in catalog)
    assert "<" in formulas and "{" in formulas  # the formulas hold what must be escaped ({period(…)}: see static_html)
    for d in catalog:
        expected = escape(formula_text(d)).replace("\n", "&#10;").replace("{", "&#123;").replace("}", "&#125;")
        assert expected in text, d.id
    assert "method-node-supply" in text and "method-def-unprompted_satisfaction" in text
