"""A short locust run against `bentoml serve`: 32 users, scoring and queue calls, zero errors.

The long run is `make bench` (bench/bench_load.py, full scale); its figures are in the README.
"""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.mark.slow
@pytest.mark.service
def test_32_users_scoring_and_working_queues_get_no_error(serving_home, serving_world, queued_team):
    from bench.bench_load import run_load
    from outreach.playbooks import load_playbooks

    figures = run_load(
        serving_home,
        serving_world.snapshot_frame,
        serving_world.as_of + timedelta(days=1),  # the date queued_team built
        sorted(load_playbooks().teams),
        seconds=15,
        max_requests=5_000,
    )
    assert figures["requests"] > 200, figures
    assert figures["errors"] == 0, figures["failures"]
    assert figures["locust_exit_code"] == 0, figures
