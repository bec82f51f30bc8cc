"""Issue 14: a dropdown's own words ("3 selected", "Select all", "No options found") are in the page's language on
every page, and the periods it offers read as 2026年第三季度, never as codes."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import dash
import pytest
from dash import dcc
from flask import g

from app.ui.components import DROPDOWN_LABELS, dropdown_labels
from app.web.security import Identity
from tests.app.conftest import app_config
from tests.app.web.test_roles import _call, _client, role_app  # noqa: F401 - role_app is a fixture

APP = Path(__file__).resolve().parents[3] / "app"


def test_every_dropdown_call_in_the_app_passes_its_labels() -> None:
    """Dropdowns built in callbacks (the AHP matrix) are not in any layout: the source is read instead."""
    missing = []
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Dropdown"
                    and not any(k.arg == "labels" for k in node.keywords)):
                missing.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert missing == [], f"dcc.Dropdown without labels=dropdown_labels(lang): {missing}"


def test_dropdown_labels_are_chinese_in_zh_and_english_in_en() -> None:
    zh, en = dropdown_labels("zh"), dropdown_labels("en")
    assert set(zh) == set(en) == set(DROPDOWN_LABELS)
    assert zh["selected_count"] == "已选 {num_selected} 项" and en["selected_count"] == "{num_selected} selected"
    assert all(not re.search(r"[A-Za-z]{2,}", v.replace("{num_selected}", "")) for v in zh.values())


@pytest.fixture()
def pages(fixture_db: Path, weights_dir: Path):
    """The Dash pages as create_app registered them, with an administrator's request (every form enabled)."""
    from app.server import create_app

    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0))
    req = app.server.test_request_context("/")
    req.push()
    g.govindex_identity = Identity(name="王五", role="admin", district_code=None)
    try:
        yield {p["module"].rsplit(".", 1)[-1]: sys.modules[p["module"]] for p in dash.page_registry.values()}
    finally:
        req.pop()


def _dropdowns(tree) -> list[dcc.Dropdown]:
    """Every dcc.Dropdown in a layout or a callback's output (a component, a list of them, or None)."""
    if tree is None or isinstance(tree, (str, int, float)):
        return []
    if isinstance(tree, (list, tuple)):
        return [d for x in tree for d in _dropdowns(x)]
    return [x for x in [tree, *tree._traverse()] if isinstance(x, dcc.Dropdown)]


def test_every_pages_dropdowns_speak_chinese(pages) -> None:
    zh = dropdown_labels("zh")
    seen: dict[str, int] = {}
    for name, module in sorted(pages.items()):
        layout = module.layout
        tree = layout(lang="zh") if callable(layout) else layout
        boxes = _dropdowns(tree)
        if name == "weights":  # the AHP matrix is built by a callback once a scope is chosen
            boxes += _dropdowns(module.ahp_editor("demand", "zh"))
        seen[name] = len(boxes)
        for box in boxes:
            assert getattr(box, "labels", None) == zh, f"{name}: dropdown {box.id} lacks the Chinese labels"
            for opt in getattr(box, "options", None) or []:
                label = str(opt.get("label", "")) if isinstance(opt, dict) else str(opt)
                assert not re.fullmatch(r"\d{4}-?[Qq]\d.*", label), f"{name}: {box.id} offers period code {label!r}"
    for name in ("overview", "district", "data_quality", "ledger", "targets", "weights", "sensitivity", "history",
                 "editions"):
        assert seen.get(name, 0) > 0, f"no dropdown found on {name}: the walk did not reach it ({seen})"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_headers_profile_switcher_follows_the_language(role_app, lang: str) -> None:
    """The header is built once in Chinese; the shell callback gives the switcher the words of the page's language."""
    outputs = [("nav", "children"), ("lang-link", "children"), ("lang-link", "href"), ("app-title", "children"),
               ("profile-label", "children"), ("footer", "children"), ("profile-select", "options"),
               ("profile-select", "labels")]
    r = _call(_client(role_app, "assessor"), outputs,
              [("url", "pathname", "/"), ("url", "search", f"?lang={lang}"), ("profiles-version", "data", 0),
               ("url-state", "data", None), ("snapshot-version", "data", 0)])
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["response"]["profile-select"]["labels"] == dropdown_labels(lang)
