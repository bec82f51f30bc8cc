"""The indicator catalog: every entry loads and is complete, strict models reject typos, SQL runs on an empty warehouse."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from pathlib import Path

import pytest

from etl.contract import tables
from etl.warehouse import connection as warehouse
from etl.contract.catalog import default_catalog_dir, load_catalog
from etl.warehouse.indicator_values import compute_indicator_values
from indicators.catalog import DIMENSIONS, SIDES, Catalog, CatalogError

CATALOG_DIR = default_catalog_dir()
REQUIRED = (
    "unprompted_satisfaction",
    "prompt_bias_gap",
    "voluntary_use_share",
    "elderly_digital_gap",
    "kiosk_session_failure_rate",
    "access_60plus",
    "digital_skill_60plus",
    "trust_60plus",
    "elderly_success_rate",
    "elicence_use_rate",
)


@pytest.fixture(scope="module")
def raw() -> tuple[dict, dict]:
    fw = tomllib.loads((CATALOG_DIR / "framework.toml").read_text(encoding="utf-8"))
    ind = tomllib.loads((CATALOG_DIR / "indicators.toml").read_text(encoding="utf-8"))
    return fw, ind


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_loads_every_entry(catalog: Catalog, raw: tuple[dict, dict]) -> None:
    assert len(catalog) == len(raw[1]["indicator"]) >= 28
    assert len(set(catalog.ids)) == len(catalog.ids)
    for rid in REQUIRED:
        assert rid in catalog
    assert "mystery_shop_score" not in catalog


def test_names_descriptions_and_units(catalog: Catalog) -> None:
    for d in catalog:
        for text in (d.name_zh, d.name_en, d.description_zh, d.description_en, d.unit, d.source):
            assert text.strip(), d.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in d.name_zh), d.id
        assert d.name_en.isascii(), d.id
        assert set(d.tables) <= set(tables.TABLES)


def test_every_dimension_of_both_sides_has_two_indicators(catalog: Catalog) -> None:
    for side in SIDES:
        for dim in DIMENSIONS:
            assert len(catalog.in_dimension(side, dim)) >= 2, f"{side}_{dim}"


def test_goalposts_ordered_and_target_sensible(catalog: Catalog) -> None:
    for d in catalog:
        assert d.goalposts.low < d.goalposts.high, d.id
        if d.unit == "%":
            assert 0 <= d.goalposts.low and d.goalposts.high <= 100, d.id
            assert d.scale == 100 or d.sql.is_query, d.id
        if d.target is not None:
            assert d.goalposts.low <= d.target <= d.goalposts.high, d.id


def test_framework_tree(catalog: Catalog) -> None:
    fw = catalog.framework()
    assert fw.root == "index"
    assert fw.children("index") == ("supply", "demand")
    assert fw.node("supply").weight == fw.node("demand").weight == 0.5
    for side in SIDES:
        assert fw.children(side) == tuple(f"{side}_{dim}" for dim in DIMENSIONS)
    assert fw.indicators == catalog.ids
    n = fw.node("elderly_digital_gap")
    assert n.parent == "demand_environment" and n.direction == -1 and n.unit == "pp" and n.is_indicator
    assert catalog.indicator("prompt_bias_gap").parent == "demand_environment"
    for code in fw.aggregates:
        assert catalog.node(code).name_zh and catalog.node(code).name_en


def test_sql_runs_on_an_empty_warehouse(catalog: Catalog) -> None:
    con = warehouse.connect(":memory:")
    assert compute_indicator_values(con, catalog).height == 0  # no districts, no periods
    # With a district and a span but no other rows, every formula runs and gives an all-NULL value grid.
    con.sql("INSERT INTO district (district_code, name_zh, name_en, population, pop_60plus) VALUES ('310101', '黄浦区', 'Huangpu', 1, 0)")
    out = compute_indicator_values(con, catalog, span=(date(2025, 1, 1), date(2025, 2, 28)))
    assert out.height == len(catalog) * (2 + 1 + 1)  # two months, a quarter, a year
    assert out["value"].null_count() == out.height


def _load(raw: tuple[dict, dict], **edit: object) -> Catalog:
    fw, ind = copy.deepcopy(raw)
    first = ind["indicator"][0]
    for key, val in edit.items():
        if key == "sql_extra":
            first["sql"]["form"] = val
        elif key == "node_extra":
            fw["node"][1]["wieght"] = val
        else:
            first[key] = val
    return Catalog.from_dicts(fw, ind, source="indicators/catalog")


def test_unknown_key_names_file_entry_and_allowed_keys(raw: tuple[dict, dict]) -> None:
    with pytest.raises(CatalogError) as e:
        _load(raw, directon=1)
    msg = str(e.value)
    assert "indicators/catalog/indicators.toml" in msg
    assert "high_freq_full_online_rate" in msg and "directon" in msg and "direction" in msg


def test_unknown_sql_key(raw: tuple[dict, dict]) -> None:
    with pytest.raises(CatalogError, match=r"key 'sql\.form'.*allowed keys: query, from"):
        _load(raw, sql_extra="x")


def test_unknown_node_key(raw: tuple[dict, dict]) -> None:
    with pytest.raises(CatalogError, match=r"framework\.toml.*code=supply.*wieght.*allowed keys"):
        _load(raw, node_extra=1)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("side", "suply", r"side.*'supply' or 'demand'"),
        ("dimension", "values", r"dimension.*'value', 'institution', 'technology' or 'environment'"),
        ("direction", 0, r"direction"),
        ("goalposts", {"low": 90, "high": 10}, r"goalposts.*low < high"),
        ("goalposts_source", "GB/T 39734", r"goalposts_source must start with its kind"),
        ("goalposts_source", "observed: the range in the data", r"must name its window"),
        ("name_en", " ", r"name_en.*blank"),
        ("id", "Bad-Id", r"key 'id'"),
    ],
)
def test_bad_values_are_named(raw: tuple[dict, dict], key: str, value: object, expected: str) -> None:
    with pytest.raises(CatalogError, match=expected):
        _load(raw, **{key: value})


def test_every_indicator_records_where_its_goalposts_come_from(catalog: Catalog, raw: tuple[dict, dict]) -> None:
    """Goalposts that hold across years: each has a reviewed source of a known kind (issue 12 item 3)."""
    kinds = {d.goalposts_source.split(":", 1)[0] for d in catalog}
    assert kinds <= {"standard", "target", "scale", "observed"} and {"standard", "observed"} <= kinds
    for d in catalog:
        if d.goalposts_source.startswith("observed"):
            assert "reference window 2025Q1–2025Q4" in d.goalposts_source, d.id
    fw, ind = copy.deepcopy(raw)
    del ind["indicator"][0]["goalposts_source"]
    with pytest.raises(CatalogError, match=r"#1 .*key 'goalposts_source': required"):
        Catalog.from_dicts(fw, ind)


def test_duplicate_id_and_missing_key(raw: tuple[dict, dict]) -> None:
    fw, ind = copy.deepcopy(raw)
    ind["indicator"][1]["id"] = ind["indicator"][0]["id"]
    with pytest.raises(CatalogError, match="duplicate id 'high_freq_full_online_rate'"):
        Catalog.from_dicts(fw, ind)
    fw, ind = copy.deepcopy(raw)
    del ind["indicator"][2]["goalposts"]
    with pytest.raises(CatalogError, match=r"indicators\.toml: \[\[indicator\]\] #3 .*key 'goalposts': required"):
        Catalog.from_dicts(fw, ind)


def test_both_sql_forms_at_once_rejected(raw: tuple[dict, dict]) -> None:
    fw, ind = copy.deepcopy(raw)
    ind["indicator"][0]["sql"]["query"] = "SELECT 1"
    with pytest.raises(CatalogError, match="either 'query' or the rate form"):
        Catalog.from_dicts(fw, ind)


def test_additive_is_declared_only_for_a_query_not_over_periods(raw: tuple[dict, dict]) -> None:
    """`additive` lets the engine sum a query's months: a rate form's sums are detected (the key would be a second,
    possibly contradicting, source), and a query over `periods` (items on the register at each period's end) is not
    the sum of its months."""
    fw, ind = copy.deepcopy(raw)
    by_id = {e["id"]: e for e in ind["indicator"]}
    by_id["actual_online_case_rate"]["additive"] = True
    with pytest.raises(CatalogError, match=r"actual_online_case_rate.*additive applies to a query form"):
        Catalog.from_dicts(fw, ind)
    fw, ind = copy.deepcopy(raw)
    next(e for e in ind["indicator"] if e["id"] == "max_one_visit_rate")["additive"] = True
    with pytest.raises(CatalogError, match=r"max_one_visit_rate.*over `periods`.*not the sum of its months"):
        Catalog.from_dicts(fw, ind)


def test_unknown_placeholder_rejected(raw: tuple[dict, dict]) -> None:
    fw, ind = copy.deepcopy(raw)
    ind["indicator"][0]["sql"]["where"] = "s.high_freq AND {periodend}"
    with pytest.raises(CatalogError, match=r"unknown placeholder '\{periodend\}'.*\{data_end\}"):
        Catalog.from_dicts(fw, ind)


def test_data_end_placeholder_known_and_takes_no_argument(raw: tuple[dict, dict]) -> None:
    fw, ind = copy.deepcopy(raw)
    ind["indicator"][0]["sql"]["where"] = "s.high_freq AND s.onboarded_on <= {data_end}"
    assert Catalog.from_dicts(fw, ind).indicator(ind["indicator"][0]["id"]).sql.where.endswith("{data_end}")
    ind["indicator"][0]["sql"]["where"] = "s.high_freq AND {data_end(s.onboarded_on)}"
    with pytest.raises(CatalogError, match=r"'\{data_end\(s.onboarded_on\)\}' takes no argument"):
        Catalog.from_dicts(fw, ind)


def test_censoring_indicators_use_data_end_and_say_so(catalog: Catalog) -> None:
    """The indicators whose latest period would otherwise be right-censored wait for a knowable outcome, and their
    descriptions say so in both languages."""
    for code in ("hotline_ontime_rate", "bad_rating_closure_rate", "rating_coverage_rate", "online_completion_rate",
                 "hotline_resolution_rate", "hotline_satisfaction_rate", "ontime_completion_rate",
                 "elderly_success_rate"):
        d = catalog.indicator(code)
        assert "{data_end}" in "\n".join(d.sql.texts()), code
        assert "数据截止" in d.description_zh and "end of the data" in d.description_en, code


def test_saturated_and_input_only_indicators_are_retired_with_a_reason(catalog: Catalog) -> None:
    """Issue 18: the saturated onboarding parity and the two staffing input ratios are out of the catalog, each with
    why, in both languages, and what measures the aim now."""
    for code in ("person_item_onboarding_parity", "assist_staff_ratio", "kiosk_help_staffing"):
        assert code not in catalog
        r = catalog.retired_reason(code)
        assert r is not None and r.reason_zh and r.reason_en and r.replaced_by, code
        assert all(x in catalog for x in r.replaced_by)
    assert "aturated" in catalog.retired_reason("person_item_onboarding_parity").reason_en
    assert "−0.22" in catalog.retired_reason("assist_staff_ratio").reason_en


def test_time_and_visit_reductions_count_high_frequency_items_by_case_volume(catalog: Catalog) -> None:
    for code in ("max_one_visit_rate", "time_limit_compression"):
        d = catalog.indicator(code)
        sql = d.sql.query or ""
        assert "s.high_freq" in sql and "v.k" in sql and '"case"' in sql, code
        assert "高频" in d.description_zh and "weighted by the cases" in d.description_en, code


def test_missing_parent_dimension(raw: tuple[dict, dict]) -> None:
    fw, ind = copy.deepcopy(raw)
    fw["node"] = [n for n in fw["node"] if n["code"] != "supply_value"]
    with pytest.raises(CatalogError, match="parent 'supply_value'"):
        Catalog.from_dicts(fw, ind)


def test_tables_must_match_sql(tmp_path: Path, raw: tuple[dict, dict]) -> None:
    import tomli_w

    fw, ind = copy.deepcopy(raw)
    ind["indicator"][0]["tables"] = ["service_item", "rating"]
    (tmp_path / "framework.toml").write_text(tomli_w.dumps(fw), encoding="utf-8")
    (tmp_path / "indicators.toml").write_text(tomli_w.dumps(ind), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"'tables' lists \['rating', 'service_item'\] but the SQL uses"):
        load_catalog(tmp_path)
    ind["indicator"][0]["tables"] = ["service_item", "nosuch"]
    (tmp_path / "indicators.toml").write_text(tomli_w.dumps(ind), encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown table.*nosuch"):
        load_catalog(tmp_path)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="framework.toml: catalog file not found"):
        load_catalog(tmp_path)
    (tmp_path / "framework.toml").write_text("[[node]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(tmp_path)


# -- intervals and the precision rule (issue 13 items 1 and 3) ----------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"max_half_width": -1}, r"#1 .*key 'max_half_width'.*greater than 0"),
        ({"max_half_width": 0}, r"key 'max_half_width'.*greater than 0"),
        ({"max_half_width": "wide"}, r"key 'max_half_width'"),
        ({"max_half_width": float("nan")}, r"key 'max_half_width'"),
        ({"max_half_width": float("inf")}, r"key 'max_half_width'"),
        ({"max_half_width": 500}, r"wider than the goalposts' whole range"),
        ({"interval": "wald"}, r"key 'interval'.*'wilson'"),
        ({"interval": "wilson", "max_half_width": None}, r"interval = 'wilson' needs 'max_half_width'"),
        ({"interval": "none", "max_half_width": 5}, r"interval = 'none' \(a census\) takes none"),
        ({"min_denominator": 30}, r"'min_denominator' was replaced by the precision rule.*max_half_width"),
        ({"interval": "delta", "max_half_width": 10}, r"interval = 'delta' on a rate form needs numerator = 'sum"),
    ],
)
def test_malformed_interval_or_threshold_is_named(raw: tuple[dict, dict], changes: dict, expected: str) -> None:
    """Entry #1 (high_freq_full_online_rate: a census, goalposts 20–100, numerator count(*) FILTER …)."""
    fw, ind = copy.deepcopy(raw)
    entry = ind["indicator"][0]
    for k, v in changes.items():
        if v is None:
            entry.pop(k, None)
        else:
            entry[k] = v
    if "interval" not in changes and "max_half_width" in changes:
        entry["interval"] = "wilson"
    with pytest.raises(CatalogError, match=expected):
        Catalog.from_dicts(fw, ind)


def test_every_indicator_names_its_interval_and_sampled_ones_a_threshold(catalog: Catalog) -> None:
    from indicators.catalog import INTERVAL_METHODS

    by_method: dict[str, list[str]] = {}
    for d in catalog:
        by_method.setdefault(d.interval, []).append(d.id)
        assert d.interval in INTERVAL_METHODS
        assert (d.max_half_width is None) == (d.interval == "none"), d.id
        if d.max_half_width is not None:  # the documented default: a quarter of the goalposts' range
            assert d.max_half_width == pytest.approx((d.goalposts.high - d.goalposts.low) / 4), d.id
    # proportions Wilson, weighted survey means design-based, medians exact, gaps Agresti–Caffo
    assert {"unprompted_satisfaction", "hotline_ontime_rate", "bad_rating_closure_rate"} <= set(by_method["wilson"])
    assert set(by_method["design"]) == {"csat_index", "trust_index", "voluntary_use_share", "access_60plus",
                                        "digital_skill_60plus", "trust_60plus", "elderly_satisfaction",
                                        "access_under60", "digital_skill_under60", "trust_under60"}
    assert set(by_method["exact"]) == {"processing_time_ratio", "hotline_first_response_hours", "net_processing_days",
                                       "hall_wait_median", "hall_wait_p90"}
    assert set(by_method["agresti_caffo"]) == {"prompt_bias_gap", "elderly_digital_gap"}
    assert by_method["poisson"] == ["hotline_service_complaint_rate", "correction_rounds_rate"]
