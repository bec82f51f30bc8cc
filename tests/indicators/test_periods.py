"""Complete and default periods."""

from indicators.periods import complete_periods, default_period, quarter_months


def test_quarter_months() -> None:
    assert quarter_months("2026Q4") == ("2026-10", "2026-11", "2026-12")
    assert quarter_months("2025Q1") == ("2025-01", "2025-02", "2025-03")


def test_partial_quarters_at_the_edges_are_not_complete() -> None:
    months = ["2024-11", "2024-12"] + [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    quarters = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]
    assert complete_periods(quarters, months) == ("2025Q1", "2025Q2", "2025Q3", "2025Q4")
    assert default_period(quarters, months) == "2025Q4"
    assert default_period(["2026-01", "2025-12"], months) == "2026-01"
    assert default_period(["2024Q4"], months) == "2024Q4"  # nothing complete: the latest there is
    assert default_period([], months) is None
