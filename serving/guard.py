"""The ASGI layer in front of every route: body size limit, API keys and roles, /readyz, /score metrics.

It runs before BentoML parses a body, so an unauthenticated or oversized request costs nothing and
never reaches validation. BentoML answers /readyz itself with a fixed text; this layer answers it
first, with the model and snapshot versions and the reason when not ready.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serving.keys import ApiKey, KeyRing, KeyStoreUnavailable
from serving.metrics import OUTCOME_OF_STATUS, SCORE_REQUESTS
from serving.problems import uniform_errors
from serving.route_labels import restore_path

logger = logging.getLogger("churnguard.serving")

# Paths anyone may call: probes (they say whether a model is loaded, never a secret), the OpenAPI
# document and UI, the agent page's shell (its data comes from the queue API, which needs a key).
# /metrics needs role admin: its labels are not secret, but its volume and timings are an oracle.
OPEN_PATHS = frozenset(
    {"/", "/healthz", "/livez", "/readyz", "/docs.json", "/schema.json", "/agent"}
)
OPEN_PREFIXES = ("/static_content/", "/assets/")
ROLE_OF_PREFIX = (
    ("/score", "score"),
    ("/queue", "outreach"),
    ("/agent/rows", "outreach"),
    ("/metrics", "admin"),
)
OPENAPI_PATH = "/docs.json"
KEY_SCOPE = "churnguard.key"  # the authenticated ApiKey, for the routes behind the guard
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Scope = dict[str, Any]


@dataclass(frozen=True)
class Runtime:
    """What the guard needs from the running service instance."""

    keyring: KeyRing
    readiness: Callable[[], dict]
    max_body_bytes: int
    queue: Any = None  # serving.queue_api.QueueAccess: the outreach store, opened on first use
    before_metrics: Callable[[], None] | None = None  # refreshes gauges read at scrape time


def role_for(path: str) -> str | None:
    """The role a path needs; None for open paths; "" for paths that need any valid key."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    for prefix, role in ROLE_OF_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return ""


async def send_json(send: Callable, status: int, body: dict, headers: dict[str, str] | None = None):
    payload = json.dumps(body, default=str).encode("utf-8")
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def problem(error: str, loc: list, kind: str) -> dict:
    return {"error": error, "detail": [{"loc": loc, "msg": error, "type": kind}]}


class Guard:
    """ASGI middleware; `runtime()` gives the current service instance's keys, readiness and limit
    (the middleware outlives instances: one app object may start the service more than once)."""

    def __init__(
        self,
        app: Callable,
        runtime: Callable[[], Runtime | None],
        openapi: Callable[[], dict] | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.openapi = openapi
        self._document: dict | None = None

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = restore_path(scope)  # metrics saw the route template; routing needs the path
        path = scope["path"]
        if path == OPENAPI_PATH and self.openapi is not None:
            if self._document is None:
                self._document = self.openapi()
            await send_json(send, 200, self._document)
            return
        send = uniform_errors(send)
        runtime = self.runtime()
        if runtime is None and path in ("/healthz", "/livez"):
            await self.app(scope, receive, send)
            return
        if runtime is None:  # the service instance is not built yet (or already gone)
            await send_json(send, 503, problem("the service is starting", [], "starting"))
            return
        if path == "/readyz":
            report = runtime.readiness()
            await send_json(send, 200 if report["ready"] else 503, report)
            return
        if path == "/metrics" and runtime.before_metrics is not None:
            try:
                runtime.before_metrics()
            except Exception as error:  # a gauge not refreshed must not hide the others
                logger.warning("metrics refresh failed: %s", error.__class__.__name__)
        if path != "/score":
            await self._guarded(runtime, scope, receive, send)
            return
        started = time.perf_counter()
        status_seen = [500]

        async def observe(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_seen[0] = message["status"]
            await send(message)

        try:
            await self._guarded(runtime, scope, receive, observe)
        finally:
            outcome = OUTCOME_OF_STATUS.get(status_seen[0], "error")
            SCORE_REQUESTS.labels(outcome=outcome).observe(time.perf_counter() - started)

    async def _guarded(
        self, runtime: Runtime, scope: Scope, receive: Callable, send: Callable
    ) -> None:
        role = role_for(scope["path"])
        if role is not None:
            given = [value for name, value in scope["headers"] if name.lower() == b"authorization"]
            if len(given) > 1:
                # Proxies and frameworks disagree on which copy wins: refuse rather than guess.
                await send_json(
                    send,
                    400,
                    problem(
                        f"{len(given)} Authorization headers; send exactly one",
                        ["header", "authorization"],
                        "duplicate_header",
                    ),
                )
                return
            key, refusal = self._authorize(runtime.keyring, given[0] if given else b"", role)
            scope[KEY_SCOPE] = key
            if refusal is not None:
                status, body = refusal
                extra = {"www-authenticate": 'Bearer realm="churnguard"'} if status == 401 else {}
                await send_json(send, status, body, extra)
                return
        if any(ord(char) < 32 or ord(char) == 127 for char in scope["path"]):
            # No route has them; without this check the router answers a plain-text 404.
            await send_json(
                send, 400, problem("the path contains control characters", ["path"], "bad_path")
            )
            return
        if scope["method"] in BODY_METHODS:
            receive = await self._bounded_body(runtime.max_body_bytes, scope, receive, send)
            if receive is None:
                return
        await self.app(scope, receive, send)

    def _authorize(
        self, keyring: KeyRing, header: bytes, role: str
    ) -> tuple[ApiKey | None, tuple[int, dict] | None]:
        scheme, _, token = header.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None, (
                401,
                problem(
                    "missing API key: send the header 'Authorization: Bearer <key>'",
                    ["header", "authorization"],
                    "missing_key",
                ),
            )
        try:
            key = keyring.authenticate(token)
        except KeyStoreUnavailable as error:
            return None, (503, problem(str(error), [], "keys_unavailable"))
        if key is None:
            return None, (
                401,
                problem("unknown or revoked API key", ["header", "authorization"], "invalid_key"),
            )
        if role and not key.allows(role):
            return key, (
                403,
                problem(
                    f"key {key.name!r} has roles {list(key.roles)}; this endpoint needs role {role!r}",
                    ["header", "authorization"],
                    "missing_role",
                ),
            )
        return key, None

    async def _bounded_body(self, limit: int, scope: Scope, receive: Callable, send: Callable):
        """Read the body up to the limit (413 beyond it) and replay it to the app."""
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        too_large = problem(
            f"request body larger than {limit} bytes; send at most "
            "1000 customers per call and split bigger batches",
            ["body"],
            "too_large",
        )
        if declared is not None:
            try:
                if int(declared) > limit:
                    await send_json(send, 413, too_large)
                    return None
            except ValueError:
                await send_json(
                    send, 400, problem("content-length is not a number", ["header"], "bad_header")
                )
                return None
        if scope["path"] == "/score":
            media = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
            if media != b"application/json":
                await send_json(
                    send,
                    415,
                    problem(
                        f"content type {media.decode('latin-1')!r} is not accepted; send "
                        "application/json",
                        ["header", "content-type"],
                        "unsupported_media_type",
                    ),
                )
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_json(send, 413, too_large)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
