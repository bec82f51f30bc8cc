"""The demo's case_event and queue_ticket: consistent with the case rows, valid step sequences, calibrated waits."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from etl.demo.calendar import make_window
from etl.demo.cases import base_daily, make_cases
from etl.demo.districts import make_profiles
from etl.demo.events import make_case_events
from etl.demo.items import make_catalogue
from etl.demo.queue import make_queue
from etl.ingest.sequences import FIRST, NEXT


@pytest.fixture(scope="module")
def month() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    window = make_window("2025-12", 3)
    profiles = make_profiles(np.random.default_rng(1))
    cat = make_catalogue(np.random.default_rng(2), profiles, window)
    m = window.months[-1]  # the last month: cases still open at the data's end
    cases = make_cases(np.random.default_rng(3), m, window, profiles, cat, base_daily(window, 0.5))
    events = make_case_events(np.random.default_rng(4), cases, window, profiles, window.position(m),
                              cat.frame.select("item_code", "dept"))
    queue = make_queue(np.random.default_rng(5), m, window, profiles, cases)
    return cases, events, queue


def test_steps_match_the_case_rows(month: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cases, events, _ = month
    j = events.join(cases, on="case_id", how="left")
    assert j["status"].null_count() == 0  # every step belongs to a case
    for event, column in (("received", "submitted_at"), ("accepted", "accepted_at"), ("decided", "closed_at")):
        e = j.filter(pl.col("event") == event)
        assert (e["event_at"] == e[column]).all(), event
    submitted = cases.filter(pl.col("submitted_at").is_not_null())
    assert events.filter(pl.col("event") == "received").height == submitted.height
    assert set(events.filter(pl.col("event") == "returned")["case_id"]) == set(
        cases.filter(pl.col("status") == "rejected")["case_id"])
    assert events["event_at"].max() < dt.datetime(2026, 1, 1)  # nothing after the data's end (still open there)


def test_every_history_is_a_sequence_the_ingest_accepts(month: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    _, events, _ = month
    e = events.sort("case_id", "seq").with_columns(
        pl.col("event").shift().over("case_id").alias("prev"), pl.col("event_at").shift().over("case_id").alias("prev_at"))
    assert (e.group_by("case_id").agg((pl.col("seq").max() == pl.len()).alias("ok"))["ok"]).all()  # no gap
    assert (e.filter(pl.col("seq") == 1)["event"] == FIRST).all()
    pairs = e.filter(pl.col("prev").is_not_null()).select("prev", "event").unique().rows()
    assert all(b in NEXT[a] for a, b in pairs), [p for p in pairs if p[1] not in NEXT[p[0]]]
    assert (e.filter(pl.col("prev_at").is_not_null()).select(pl.col("event_at") >= pl.col("prev_at")).to_series()).all()
    # rework is present but a minority (an assumption: about 9% of cases get a 补正 request)
    share = e.filter(pl.col("event") == "correction_requested")["case_id"].n_unique() / e["case_id"].n_unique()
    assert 0.04 < share < 0.2


def test_queue_tickets_follow_the_window_cases_and_the_published_waits(
    month: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    cases, _, queue = month
    window_cases = cases.filter((pl.col("channel") == "window") & pl.col("submitted_at").is_not_null())
    t = queue.filter(pl.col("case_id").is_not_null()).join(cases, on="case_id")
    assert t.height == window_cases.height and (t["called_at"] == t["started_at"]).all()
    assert (t["finished_at"] == t["submitted_at"]).all()
    assert queue["ticket_id"].n_unique() == queue.height
    assert (queue["abandoned"] == queue["finished_at"].is_null()).all()
    called = queue.filter(pl.col("called_at").is_not_null())
    assert (called["called_at"] >= called["issued_at"]).all()
    mean_wait = (called["called_at"] - called["issued_at"]).dt.total_seconds().mean() / 60  # type: ignore[operator]
    assert 7 <= mean_wait <= 12  # 奉贤区政务服务中心 published 8 min 30 s – 10 min 13 s (2025)
