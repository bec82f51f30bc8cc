"""Profile files: the shipped profiles load and fit the catalog; saving never overwrites and keeps history."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config import load_config
from etl.stores.profiles import PUBLISHED_FILE, SHIPPED_DIR, ProfileNotFoundError, list_profiles, load_profile, load_profile_version, load_profiles, profile_path, profile_versions, publish_profile, save_profile, viewer_profiles
from indicators.profile import ProfileError

SHIPPED = ("equal", "supply-led", "user-centred")


@pytest.fixture
def wdir(tmp_path: Path) -> Path:
    d = tmp_path / "weights"
    d.mkdir()
    for name in SHIPPED:
        shutil.copy(SHIPPED_DIR / f"{name}.toml", d / f"{name}.toml")
    return d


def test_shipped_profiles_exist_and_load() -> None:
    assert set(SHIPPED) <= set(list_profiles(SHIPPED_DIR))
    profiles = load_profiles(SHIPPED_DIR)
    assert profiles["equal"].blend is not None and profiles["equal"].blend.supply == 0.5
    assert profiles["supply-led"].blend is not None and profiles["supply-led"].blend.supply == 0.8
    uc = profiles["user-centred"]
    assert uc.blend is not None and (uc.blend.demand, uc.blend.supply) == (0.6, 0.4)
    assert "好评率" in uc.rationale.zh and "67.3%" in uc.rationale.en and "elderly" in uc.rationale.en
    for p in profiles.values():
        assert p.author and p.rationale.zh and p.rationale.en
        # goalposts that hold across years, absolute bands, and the rationale says why (issue 12, items 3 and 4)
        assert p.methods.normalisation.name == "goalposts" and p.methods.bands.method == "absolute"
        assert "目标值区间" in p.rationale.zh and "goalposts" in p.rationale.en and "min-max" in p.rationale.en


def test_shipped_profiles_validate_against_the_catalog_framework() -> None:
    from etl.contract.catalog import load_catalog  # the real catalog: this check must never skip

    fw = load_catalog().framework()
    for name, p in load_profiles(SHIPPED_DIR).items():
        p.validate_against(fw)
        eff = p.effective_weights(fw)
        assert sum(eff.values()) == pytest.approx(1.0), name
        supply_share = sum(v for k, v in eff.items() if "supply" in fw.ancestors(k))
        assert p.blend is not None and supply_share == pytest.approx(p.blend.supply), name
        p.model_spec(fw)  # the engine's spec builds
        if "raw_good_rate" in fw:  # the inflated official 好评率 is comparison-only in every shipped profile
            assert eff["raw_good_rate"] == 0.0, name


def test_load_by_name_and_by_path(wdir: Path) -> None:
    assert load_profile("equal", wdir).name == "equal"
    assert load_profile(wdir / "supply-led.toml").name == "supply-led"
    assert load_profile(str(wdir / "supply-led.toml")).name == "supply-led"


def test_unknown_profile_lists_the_available_ones(wdir: Path) -> None:
    with pytest.raises(ProfileNotFoundError, match="no profile 'nope'.*available: equal, supply-led, user-centred"):
        load_profile("nope", wdir)


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "/etc/passwd", "x.toml/..", "A", "", "a--b", "-a"])
def test_names_that_could_escape_the_folder_are_refused(wdir: Path, name: str) -> None:
    with pytest.raises(ProfileError, match="bad profile name"):
        profile_path(name, wdir)
    if "/" not in name and not name.endswith(".toml"):
        with pytest.raises(ProfileError, match="bad profile name"):
            load_profile(name, wdir)


def test_file_name_must_match_the_name_key(wdir: Path) -> None:
    shutil.copy(wdir / "equal.toml", wdir / "other.toml")
    with pytest.raises(ProfileError, match="other.toml: the file is named 'other' but its name key says 'equal'"):
        load_profile("other", wdir)


def test_bad_file_errors_name_the_file(wdir: Path) -> None:
    (wdir / "broken.toml").write_text('name = "broken"\nsurprise = 1\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.toml: .*surprise: unknown key"):
        load_profile("broken", wdir)


def test_save_new_profile_then_new_versions_keep_history(wdir: Path) -> None:
    base = load_profile("user-centred", wdir)
    mine = base.model_copy(update={"name": "assessor-a", "author": "Assessor A"})
    v1 = save_profile(mine, wdir)
    assert v1.version == 1 and (wdir / "assessor-a.toml").is_file()
    assert profile_versions("assessor-a", wdir) == [1]
    v2 = save_profile(mine.with_weights({"supply_value": 2.0}), wdir)
    assert v2.version == 2
    assert profile_versions("assessor-a", wdir) == [1, 2]
    # the shipped profile's own comparison-only and diagnostic indicators stay at 0
    assert load_profile("assessor-a", wdir).weights == {"raw_good_rate": 0.0, "prompt_bias_gap": 0.0,
                                                         "supply_value": 2.0}
    assert load_profile_version("assessor-a", 1, wdir).weights == {"raw_good_rate": 0.0, "prompt_bias_gap": 0.0}
    # saving identical content writes nothing new
    again = save_profile(mine.with_weights({"supply_value": 2.0}), wdir)
    assert again.version == 2 and profile_versions("assessor-a", wdir) == [1, 2]


def test_saving_over_a_shipped_profile_archives_it_first(wdir: Path) -> None:
    original = (wdir / "supply-led.toml").read_text(encoding="utf-8")
    p = load_profile("supply-led", wdir)
    saved = save_profile(p.with_weights({"supply": 0.7, "demand": 0.3}), wdir)
    assert saved.version == 2 and saved.blend is not None and saved.blend.supply == pytest.approx(0.7)
    assert (wdir / "history" / "supply-led" / "v1.toml").read_text(encoding="utf-8") == original
    assert load_profile("supply-led", wdir).version == 2


def test_a_taken_version_number_is_never_overwritten(wdir: Path) -> None:
    p = load_profile("equal", wdir).model_copy(update={"name": "race"})
    save_profile(p, wdir)
    # another writer already took v2 in history (e.g. a concurrent save): ours must become v3
    hist = wdir / "history" / "race"
    (hist / "v2.toml").write_text("taken", encoding="utf-8")
    saved = save_profile(p.with_weights({"supply_value": 3.0}), wdir)
    assert saved.version == 3
    assert (hist / "v2.toml").read_text(encoding="utf-8") == "taken"
    assert not list(wdir.rglob("*.tmp"))


def test_list_profiles_ignores_history_and_odd_files(wdir: Path) -> None:
    save_profile(load_profile("equal", wdir).with_weights({"supply_value": 2.0}), wdir)
    (wdir / "README.txt").write_text("x", encoding="utf-8")
    (wdir / "Not A Slug.toml").write_text("x", encoding="utf-8")
    assert list_profiles(wdir) == list(SHIPPED)
    assert list_profiles(wdir / "missing") == list(SHIPPED)  # an empty store still lists the shipped profiles


def test_saved_profiles_go_to_the_configured_data_dir_and_shipped_ones_stay_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: weights/ is read-only package data; saves, history and the audit trail go to paths.weights_dir."""
    monkeypatch.chdir(tmp_path)  # the default data/weights is relative to the working directory
    store = load_config(env={}).paths.weights_dir
    assert store == Path("data/weights") and not store.exists()
    shipped_before = {p: p.read_bytes() for p in SHIPPED_DIR.rglob("*") if p.is_file()}
    assert list_profiles(store) == list(SHIPPED)  # nothing saved yet: the shipped ones
    base = load_profile("user-centred", store)
    saved = save_profile(base.with_weights({"supply": 0.7, "demand": 0.3}), store, who="ana")
    mine = save_profile(base.model_copy(update={"name": "mine"}).with_weights({"supply": 0.2, "demand": 0.8}),
                        store, who="ana")
    assert saved.version == base.version + 1 and mine.version == 1
    assert (store / "user-centred.toml").is_file() and (store / "mine.toml").is_file()
    assert (store / "history" / "user-centred" / f"v{base.version}.toml").is_file()  # the shipped version, archived
    assert (store / "history" / "audit.jsonl").is_file()
    assert {p: p.read_bytes() for p in SHIPPED_DIR.rglob("*") if p.is_file()} == shipped_before  # untouched
    assert list_profiles(store) == sorted([*SHIPPED, "mine"])  # shipped profiles still listed
    assert load_profile("user-centred", store).version == saved.version  # the store's version wins
    assert load_profile("equal", store) == load_profile("equal", SHIPPED_DIR)
    assert load_profile_version("user-centred", base.version, store) == base


# -- derivation inputs ---------------------------------------------------------------------------------------------
def test_read_pairwise_csv_with_fractions_and_gb18030(tmp_path: Path) -> None:
    from etl.stores.profiles import read_pairwise_csv

    f = tmp_path / "m.csv"
    f.write_bytes("code,供给,需求\n供给,1,1/3\n需求,3,1\n".encode("gb18030"))
    codes, m = read_pairwise_csv(f)
    assert codes == ["供给", "需求"] and m[0][1] == pytest.approx(1 / 3) and m[1][0] == 3.0
    f.write_text("code,a,b\nb,1,2\na,1/2,1\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="row labels \\(b, a\\) must repeat the header codes \\(a, b\\)"):
        read_pairwise_csv(f)
    f.write_text("code,a,b\na,1,x\nb,1,1\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="m.csv: row 2, column 'b': 'x' is not a number"):
        read_pairwise_csv(f)


def test_read_allocations_csv_names_row_and_assessor(tmp_path: Path) -> None:
    from etl.stores.profiles import read_allocations_csv

    f = tmp_path / "a.csv"
    f.write_text("assessor,a,b\nA,60,40\nB,,100\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="row 3 \\(assessor 'B'\\): no points for a"):
        read_allocations_csv(f)
    f.write_text("assessor,a,b\nA,60,40\nA,50,50\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="row 3: assessor 'A' appears twice"):
        read_allocations_csv(f)
    f.write_text("assessor,a,b\nA,60\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="row 2 has 2 cells, the header has 3"):
        read_allocations_csv(f)


def test_read_warehouse_matrix_takes_the_latest_period(tmp_path: Path) -> None:
    import duckdb

    from etl.stores.profiles import read_warehouse_matrix

    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.sql("CREATE TABLE indicator_values (unit_code VARCHAR, period VARCHAR, indicator_id VARCHAR, value DOUBLE)")
    con.sql(
        "INSERT INTO indicator_values VALUES ('u1','2024-01','a',1), ('u1','2024-02','a',2), ('u2','2024-02','a',3),"
        " ('u1','2024-02','b',5)"
    )
    con.close()
    period, units, codes, values = read_warehouse_matrix(db)
    assert period == "2024-02" and units == ["u1", "u2"] and codes == ["a", "b"]
    assert values[0] == [2.0, 5.0] and values[1][0] == 3.0 and values[1][1] != values[1][1]  # NaN where missing
    assert read_warehouse_matrix(db, "2024-01")[2] == ["a"]
    with pytest.raises(ProfileError, match="no indicator values for period '1999-01'"):
        read_warehouse_matrix(db, "1999-01")


def test_viewer_profiles_is_the_one_published_view(wdir: Path) -> None:
    """Leaders' view of the profiles: the published version where one exists; a broken publication raises, or,
    with `on_error`, is reported and the current version stands in (what the app does)."""
    base = load_profile("supply-led", wdir)
    publish_profile("supply-led", base.version, "chief", "reviewed", wdir)
    newer = save_profile(base.with_weights({"supply": 0.6, "demand": 0.4}), wdir, who="ana")
    current = load_profiles(wdir)
    assert current["supply-led"].version == newer.version
    seen = viewer_profiles(current, wdir)
    assert seen["supply-led"] == base and seen["equal"] is current["equal"]
    pointer = wdir / "history" / "supply-led" / PUBLISHED_FILE
    pointer.write_text(pointer.read_text(encoding="utf-8").replace('"content_hash": "', '"content_hash": "00'),
                       encoding="utf-8")
    with pytest.raises(ProfileError, match="no longer matches"):
        viewer_profiles(current, wdir)
    errors: list[str] = []
    seen = viewer_profiles(current, wdir, on_error=lambda n, e: errors.append(n))
    assert errors == ["supply-led"] and seen["supply-led"] is current["supply-led"]
