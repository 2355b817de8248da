"""Locust users for `bench/bench_load.py`: CRM systems scoring and agents working the queues.

Configured by the environment the bench sets (CG_LOAD_*); stops by itself after the run time given
on the command line or CG_LOAD_MAX_REQUESTS requests, whichever comes first.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["CG_LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
MAX_REQUESTS = int(os.environ.get("CG_LOAD_MAX_REQUESTS", "1000000"))
SENT = [0]


@events.request.add_listener
def _count(**_kwargs) -> None:
    SENT[0] += 1


class Shop(HttpUser):
    """One CRM integration or one agent; the mix of tasks is by weight."""

    wait_time = between(0.01, 0.05)

    def on_start(self) -> None:
        self.score_headers = {"Authorization": f"Bearer {PLAN['score_key']}"}
        self.queue_headers = {"Authorization": f"Bearer {PLAN['outreach_key']}"}
        self.rng = random.Random()

    def _stop_when_done(self) -> None:
        if SENT[0] >= MAX_REQUESTS:
            self.environment.runner.quit()

    def _score(self, body: dict, name: str) -> None:
        with self.client.post(
            "/score", json=body, headers=self.score_headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif any(r["status"] != "scored" for r in response.json()["results"]):
                response.failure("a known customer was not scored")
        self._stop_when_done()

    @task(4)
    def score_ids_with_reasons(self) -> None:
        ids = self.rng.sample(PLAN["customer_ids"], self.rng.choice((1, 1, 5, 20)))
        self._score({"customers": [{"customer_id": i} for i in ids]}, "/score ids+reasons")

    @task(3)
    def score_ids_without_reasons(self) -> None:
        ids = self.rng.sample(PLAN["customer_ids"], self.rng.choice((1, 10, 50)))
        self._score(
            {"customers": [{"customer_id": i} for i in ids], "reasons": False}, "/score ids"
        )

    @task(2)
    def score_inline(self) -> None:
        rows = self.rng.sample(PLAN["inline"], self.rng.choice((1, 3)))
        body = {"customers": rows, "reasons": self.rng.random() < 0.5}
        self._score(body, "/score inline")

    @task(2)
    def list_queue(self) -> None:
        team = self.rng.choice(PLAN["teams"])
        self.client.get(
            f"/queue/{team}",
            params={"date": PLAN["queue_date"]},
            headers=self.queue_headers,
            name="/queue/{team}",
        )
        self._stop_when_done()

    @task(2)
    def claim_and_record(self) -> None:
        """Claim one item, then hand it back (mostly) or contact and resolve it."""
        team = self.rng.choice(PLAN["teams"])
        claimed = self.client.post(
            f"/queue/{team}/claim",
            json={"n": 1},
            headers=self.queue_headers,
            name="/queue/{team}/claim",
        )
        items = claimed.json()["items"] if claimed.status_code == 200 else []
        for item in items:
            steps = ["queued"] if self.rng.random() < 0.8 else ["contacted", "resolved"]
            for state in steps:
                self.client.post(
                    f"/queue/items/{item['id']}/outcome",
                    json={"state": state, "notes": "load test"},
                    headers=self.queue_headers,
                    name=f"/queue/items/{{id}}/outcome {state}",
                )
        self._stop_when_done()
