"""Complete and default periods."""

from datetime import date

from indicators.periods import complete_months, complete_periods, default_period, quarter_months


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


def test_complete_months_need_the_first_and_the_last_day() -> None:
    # Data from 1 July to 2 September: July and August are whole, September (two days) is not.
    assert complete_months(date(2025, 7, 1), date(2025, 9, 2)) == ("2025-07", "2025-08")
    # A span starting on the 2nd misses the month's first day; one ending on the 30th of a 31-day month its last.
    assert complete_months(date(2025, 7, 2), date(2025, 10, 30)) == ("2025-08", "2025-09")
    assert complete_months(date(2024, 11, 1), date(2026, 10, 31))[::11] == ("2024-11", "2025-10", "2026-09")
    assert len(complete_months(date(2024, 11, 1), date(2026, 10, 31))) == 24
    # Month ends: February in a leap year, December into January.
    assert complete_months(date(2024, 2, 1), date(2024, 2, 28)) == ()
    assert complete_months(date(2024, 2, 1), date(2024, 2, 29)) == ("2024-02",)
    assert complete_months(date(2025, 12, 1), date(2026, 1, 31)) == ("2025-12", "2026-01")
    assert complete_months(date(2025, 12, 5), date(2026, 1, 31)) == ("2026-01",)
    assert complete_months(date(2025, 7, 1), date(2025, 7, 1)) == ()
    assert complete_months(None, None) == () and complete_months(date(2025, 3, 1), date(2025, 1, 31)) == ()


def test_a_month_with_two_days_of_data_is_not_the_default() -> None:
    months = complete_months(date(2025, 1, 1), date(2025, 9, 2))
    assert default_period(["2025-07", "2025-08", "2025-09"], months) == "2025-08"
    assert default_period(["2025Q2", "2025Q3"], months) == "2025Q2"  # Q3 lacks most of September
    assert complete_periods(["2025-09", "2025Q3"], months) == ()
    assert default_period(["2025-09"], months) == "2025-09"  # nothing complete: the latest there is
