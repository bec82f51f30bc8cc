"""bench.load posts the weights page's live callback as the page does: every reweight request of a 50-user run was
an error (HTTP 400) after the callback gained an input the bench's hand-written request lacked, and the table showed
2,672 errors of 5,303 requests as if they were latency. The request is now read from the registered callback."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.web.auth import AuthSettings
from bench.load import blend_input, reweight_payload
from tests.app.conftest import app_config


@pytest.mark.slow
def test_the_load_benchs_reweight_request_is_answered_by_the_app(demo_env: dict[str, Path]) -> None:
    from app.server import create_app

    body, codes = reweight_payload(demo_env["db"], demo_env["weights"], random.Random(0))
    client = create_app(app_config(demo_env["db"], demo_env["weights"], rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    client.get("/")  # the demo session's cookie, as each simulated user's first request
    for blend in (0.5, 0.3):
        blend_input(body)["value"] = blend
        resp = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                           headers={"Origin": "http://localhost"})  # as a browser (and the bench) sends it
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        answer = resp.get_json()["response"]
        assert "weights-ranking-list" in answer and len(codes) > 10
