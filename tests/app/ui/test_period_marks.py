"""A partial period is marked wherever it can be chosen, with the months the data cover (issue 12, item 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dash
import pytest

from app.ui.i18n import fmt_period_marked
from app.web.auth import AuthSettings
from indicators.periods import partial_periods
from tests.app.conftest import app_config


def test_partial_periods_carry_the_mark_and_their_months() -> None:
    months = ["2026-07", "2026-08", "2026-09", "2026-10"]
    partial = partial_periods(["2026Q3", "2026Q4", "2027Q1"], months)
    assert fmt_period_marked("2026Q3", "zh", partial) == "2026年第三季度"
    assert fmt_period_marked("2026Q4", "zh", partial) == "2026年第四季度 · 不完整期：2026-10"
    assert fmt_period_marked("2026Q4", "en", partial) == "2026 Q4 · partial period: 2026-10"
    assert fmt_period_marked("2027Q1", "zh", partial) == "2027年第一季度 · 不完整期：不足一个月"


@pytest.mark.slow
def test_the_overview_period_picker_marks_partial_quarters(demo_env: dict[str, Path], weights_dir: Path) -> None:
    from app.server import create_app  # local: builds the whole Dash app; only this test needs it

    app = create_app(app_config(demo_env["db"], weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))
    layout = dash.page_registry["pages.overview"]["layout"]
    with app.server.test_request_context("/"):
        page = layout(lang="zh")
    text = json.dumps(page.to_plotly_json(), ensure_ascii=False,
                      default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o))
    labels = re.findall(r'"label": "(\d{4}年第[一二三四]季度[^"]*)"', text)
    # the demo covers May to October 2026: Q2 and Q4 are partial, Q3 is whole and the default
    assert labels == ["2026年第四季度 · 不完整期：2026-10", "2026年第三季度", "2026年第二季度 · 不完整期：2026-05, 2026-06"]
    assert '"value": "2026Q3"' in text
