"""The one error shape of every endpoint: `{"error": one line, "detail": [{loc, msg, type}]}`.

One status per kind of problem, the same on /score, the queue API and the agents' page:
400 invalid request (body, query or path: where and what was expected), 401 no or bad key,
403 the key lacks the role, 404 no such team, item, queue date or route, 405 wrong method,
409 the item is someone else's or cannot move that way, 413 body too large, 415 not JSON,
503 not ready or the queue database is away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

# What each status means, for the OpenAPI document (serving/openapi.py) and for readers.
STATUS_MEANING: Final = {
    400: "The request is invalid: the message names the field and what was expected.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key lacks the role this endpoint needs.",
    404: "No such team, queue item, built queue date or route.",
    405: "This path does not take that method.",
    409: "The item is claimed by someone else or cannot move to that state.",
    413: "The body is larger than the service accepts.",
    415: "The body is not application/json.",
    503: "Not ready (no model loaded, or the queue database is unreachable); retry later.",
}
MAX_IN_MESSAGE: Final = 3


def where(loc: Sequence[str | int]) -> str:
    """A field path as a reader writes it: customers[0].features.orders_total."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "request"


def problem(error: str, detail: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The body of every refusal."""
    return {"error": error, "detail": [dict(d) for d in detail]}


def single(error: str, loc: Sequence[str | int], kind: str) -> dict[str, Any]:
    """A refusal with one cause."""
    return problem(error, [{"loc": list(loc), "msg": error, "type": kind}])


def validation_problem(errors: Sequence[Mapping[str, Any]], drop: str | None = None) -> dict:
    """Pydantic's errors as one body whose top line says where and what was expected.

    `drop` removes a leading location part that means nothing to a caller (FastAPI's "body")."""
    detail = []
    for error in errors:
        loc = list(error.get("loc", ()))
        if drop is not None and loc[:1] == [drop]:
            loc = loc[1:]
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        detail.append({"loc": loc, "msg": message, "type": error.get("type", "")})
    lines = [f"{where(d['loc'])}: {d['msg']}" for d in detail[:MAX_IN_MESSAGE]]
    more = len(detail) - MAX_IN_MESSAGE
    error = "; ".join(lines) + (f" (and {more} more)" if more > 0 else "")
    return problem(error or "invalid request", detail)


PLAIN_KIND: Final = {404: "not_found", 405: "method_not_allowed"}
VALIDATION_SUMMARY: Final = re.compile(r"\d+ validation errors? for ")


def uniform_errors(send: Callable[[dict], Awaitable[None]]) -> Callable[[dict], Awaitable[None]]:
    """An ASGI `send` that gives BentoML's own refusals the one shape: its plain-text 404/405 and its
    400 for an invalid /score body (whose top line only said "1 validation error for ...")."""
    held: dict[str, Any] = {}

    async def shaped(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            held["start"], held["body"] = message, b""
            return
        if message["type"] != "http.response.body" or "start" not in held:
            await send(message)
            return
        held["body"] += message.get("body", b"")
        if message.get("more_body", False):
            return
        start, body = held.pop("start"), held.pop("body")
        status = start["status"]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        media = dict(headers).get(b"content-type", b"").split(b";")[0].strip()
        rewritten = _reshaped(status, media, body)
        if rewritten is not None:
            body = json.dumps(rewritten, default=str).encode("utf-8")
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return shaped


def _reshaped(status: int, media: bytes, body: bytes) -> dict | None:
    if media != b"application/json":
        text = body.decode("utf-8", "replace").strip() or "refused"
        if status == 405:
            text = "this path does not take that method; see /docs.json"
        elif status == 404:
            text = "no such path; see /docs.json for every endpoint"
        return single(text, [], PLAIN_KIND.get(status, "refused"))
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # BentoML answers some refusals with a one-element list
    if not isinstance(parsed, dict) or not isinstance(parsed.get("error"), str):
        return None
    if isinstance(parsed.get("detail"), list):
        if VALIDATION_SUMMARY.match(parsed["error"]):
            return validation_problem(parsed["detail"])
        return None
    return single(parsed["error"], [], PLAIN_KIND.get(status, "refused"))
