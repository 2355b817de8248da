"""The BentoML service: the thin HTTP face of `serving.scoring` (start it with `churnguard serve`).

The champion comes from the MLflow registry (`settings.resolved_model_uri`, the handover point
between training and serving), the features from the latest published snapshot; both are checked
every `CHURNGUARD_RELOAD_INTERVAL_SECONDS` and swapped without dropping a request.
"""

from __future__ import annotations

import logging
from collections import Counter

import anyio
import bentoml
from starlette.responses import JSONResponse

from common.settings import get_settings
from serving.config import get_serving_settings
from serving.guard import Guard, Runtime
from serving.keys import KeyRing
from serving.metrics import (
    CUSTOMERS_SCORED,
    RELOADS,
    publish_monitor,
    read_monitor_file,
    refresh_overdue,
)
from serving.problems import single
from serving.queue_api import QueueAccess, build_queue_app
from serving.route_labels import install as install_route_labels
from serving.schemas import CustomerToScore, ScoreRequest, ScoreResponse
from serving.scoring import RequestProblem, score_request
from serving.state import Reloader, ServingState, readiness

logger = logging.getLogger("churnguard.serving")

# Requests up to this many customers are scored on the event loop (a thread hop costs more than
# the work); bigger ones go to a worker thread so the loop keeps answering probes and small calls.
INLINE_MAX_CUSTOMERS = 32

# The running instance's runtime in this worker process, for the guard (outside the service class).
_RUNTIME: dict[str, Runtime] = {}


class QuietValidationErrors(logging.Filter):
    """BentoML logs a client's invalid body as an ERROR with a traceback; make it one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from pydantic import ValidationError

        if record.exc_info and isinstance(record.exc_info[1], ValidationError):
            error = record.exc_info[1]
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = "%s: invalid request body (%d problem(s), answered 400)"
            record.args = (record.args[0] if record.args else "?", error.error_count())
            record.exc_info = record.exc_text = None
        return True


def _runtime() -> Runtime | None:
    return _RUNTIME.get("current")


@bentoml.service(name="churnguard", workers=1, traffic={"timeout": 30})
class ChurnService:
    """Churn risk for CRM systems: POST /score, with reasons; /healthz, /readyz, /metrics; the
    outreach queues under /queue and the agents' page at /agent."""

    def __init__(self) -> None:
        settings = get_settings()
        self.serving = get_serving_settings()
        self.shop_language = settings.language
        logging.getLogger("bentoml._internal.server.http_app").addFilter(QuietValidationErrors())
        from serving.registry import RegistrySource  # imports MLflow: only in the worker

        self.state = ServingState(
            RegistrySource(settings.resolved_model_uri, settings.tracking_uri),
            settings.snapshots_dir,
        )
        monitor_file = settings.monitor_path

        def on_reload(kind: str, outcome: str) -> None:
            RELOADS.labels(kind=kind, outcome=outcome).inc()
            publish_monitor(read_monitor_file(monitor_file))  # daily writes it before publishing

        self.state.on_reload = on_reload
        state = self.state
        queue = QueueAccess(settings.queue_database_url)
        keyring = KeyRing(settings.api_keys_path, self.serving.api_keys)
        _RUNTIME["current"] = Runtime(
            keyring=keyring,
            readiness=lambda: readiness(state, keyring.check()),
            max_body_bytes=self.serving.max_request_bytes,
            queue=queue,
            before_metrics=lambda: refresh_overdue(queue.store, _teams()),
        )
        self.state.refresh()
        self.reloader = Reloader(self.state, self.serving.reload_interval_seconds)
        self.reloader.start()

    @bentoml.on_shutdown
    def stop_reloading(self) -> None:
        self.reloader.stop()
        runtime = _RUNTIME.pop("current", None)
        if runtime is not None:
            runtime.queue.close()

    @bentoml.api(route="/score", input_spec=ScoreRequest)
    async def score(
        self, customers: list[CustomerToScore], reasons: bool = True, language: str | None = None
    ) -> ScoreResponse:
        """Churn probability, risk band, percentile and (if asked) reasons for up to 1,000 customers,
        each by id (features from the latest published snapshot) or with its features inline."""
        loaded = self.state.current
        if loaded is None:
            report = readiness(self.state)
            return JSONResponse(
                single(f"no model loaded: {report['reason']}", [], "not_ready"), status_code=503
            )
        salt = self.serving.log_salt
        shop_language = self.shop_language

        def answer() -> tuple[ScoreResponse, Counter[str]]:
            return score_request(
                customers,
                loaded,
                reasons,
                log_salt=salt,
                language=language,
                default_language=shop_language,
            )

        try:
            if len(customers) <= INLINE_MAX_CUSTOMERS:
                response, outcomes = answer()
            else:
                response, outcomes = await anyio.to_thread.run_sync(answer)
        except RequestProblem as refused:
            return JSONResponse(refused.body(), status_code=refused.status)
        for outcome, count in outcomes.items():
            CUSTOMERS_SCORED.labels(outcome=outcome).inc(count)
        return response


def _queue() -> QueueAccess | None:
    runtime = _runtime()
    return runtime.queue if runtime is not None else None


def _teams() -> list[str]:
    from outreach.playbooks import load_playbooks

    return sorted(load_playbooks().teams)


def _openapi() -> dict:
    from serving.openapi import complete_openapi

    return complete_openapi(ChurnService.openapi_spec.asdict())


# BentoML builds its traffic metrics when the app is assembled; label them by route template.
install_route_labels()
ChurnService.add_asgi_middleware(Guard, runtime=_runtime, openapi=_openapi)
# Queue endpoints (role outreach) and the agents' page, on the same port as /score.
ChurnService.mount_asgi_app(build_queue_app(_queue, _teams), path="/", name="outreach")
