"""Metrics label requests by route template, never by raw path: `/queue/{team}`, not
`/queue/sales`, so arbitrary team names and item ids cannot grow Prometheus' label set without bound.

BentoML's traffic middleware reads `scope["path"]` before any middleware of ours runs; the service
installs `RouteLabelledMetrics` in its place (serving/service.py), which hands it the template and
leaves the real path in the scope for the guard to restore before routing.
"""

from __future__ import annotations

import re
from typing import Any, Final

REAL_PATH: Final = "churnguard.real_path"
TEMPLATES: Final = (
    (re.compile(r"/queue/items/[^/]+/outcome"), "/queue/items/{item_id}/outcome"),
    (re.compile(r"/queue/[^/]+/claim"), "/queue/{team}/claim"),
    (re.compile(r"/queue/[^/]+/export\.csv"), "/queue/{team}/export.csv"),
    (re.compile(r"/queue/[^/]+"), "/queue/{team}"),
)
FIXED: Final = frozenset(
    {"/", "/score", "/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/agent"}
    | {"/agent/rows", "/schema.json"}
)
OTHER: Final = "other"


def route_template(path: str) -> str:
    """The route a path belongs to, or "other" for paths no route serves."""
    if path in FIXED:
        return path
    for pattern, template in TEMPLATES:
        if pattern.fullmatch(path):
            return template
    if path.startswith(("/static_content/", "/assets/")):
        return f"/{path.split('/')[1]}/..."
    return OTHER


def templated_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """A copy of an HTTP scope whose path is its route template; the real path rides along."""
    path = scope["path"]
    return {**scope, "path": route_template(path), REAL_PATH: path}


def restore_path(scope: dict[str, Any]) -> dict[str, Any]:
    """The scope as the client sent it (after metrics have read the template)."""
    if REAL_PATH not in scope:
        return scope
    restored = dict(scope)
    restored["path"] = restored.pop(REAL_PATH)
    return restored


def install() -> None:
    """Make BentoML build its traffic-metrics middleware from our subclass (it imports the class
    from this module attribute when it assembles the app)."""
    from bentoml._internal.server.http import instruments

    base = instruments.RunnerTrafficMetricsMiddleware
    if getattr(base, "labels_routes", False):
        return

    class RouteLabelledMetrics(base):  # type: ignore[misc, valid-type]
        labels_routes = True

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope.get("type") == "http":
                scope = templated_scope(scope)
            await super().__call__(scope, receive, send)

    instruments.RunnerTrafficMetricsMiddleware = RouteLabelledMetrics
