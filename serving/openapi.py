"""The OpenAPI document as the service really behaves: BentoML's generated one, completed.

BentoML documents /score's 200 and its own 400, and the mounted queue app its FastAPI answers; the
guard in front of both adds answers neither knows about (401, 403, 413, 415, 503) and the probes
answer with a readiness report. A client generated from this document, or a fuzzer checking
responses against it, sees every status the service can send and the body that comes with it.
"""

from __future__ import annotations

import copy
from typing import Any

from serving.guard import role_for
from serving.schemas import Problem, Readiness

BEARER = "bearerKey"
QUEUE_PROBLEM = {
    "type": "object",
    "title": "QueueProblem",
    "description": "A refused queue request: what was wrong, in one line, or where and why.",
    "required": ["detail"],
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/components/schemas/ProblemDetail"}},
            ]
        },
    },
}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _component(model: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pydantic model's JSON schema with its nested definitions lifted into components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema, schema.pop("$defs", {})


def complete_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """BentoML's document with the guard's answers, the probes' bodies and the key scheme added."""
    doc = copy.deepcopy(document)
    doc["info"] = {
        "title": "churnguard",
        "version": "1",
        "description": "Churn risk for CRM systems (POST /score) and the outreach queues (/queue). "
        "Every endpoint but the probes (/healthz, /livez, /readyz), this document and the agents' "
        "page shell needs 'Authorization: Bearer <key>' with the role it names: score, outreach, "
        "or admin (which may do everything; /metrics needs it).",
    }
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, Readiness):
        schema, definitions = _component(model)
        schemas[model.__name__] = schema
        schemas.update(definitions)
    schemas["QueueProblem"] = QUEUE_PROBLEM
    doc["components"]["securitySchemes"] = {
        BEARER: {"type": "http", "scheme": "bearer", "description": "A churnguard API key."}
    }
    problem = "Problem"
    for path, operations in doc.get("paths", {}).items():
        role = role_for(path.replace("{", "").replace("}", ""))
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            queue = path.startswith("/queue") or path.startswith("/agent")
            if role is not None:
                operation["security"] = [{BEARER: []}]
                responses["401"] = _json(problem, "No API key, or an unknown or revoked one.")
                responses["403"] = _json(problem, f"The key lacks role {role or 'admin'!r}.")
                responses.setdefault("400", _json(problem, "More than one Authorization header."))
                responses.setdefault("503", _json(problem, "The API keys file cannot be read."))
            if method.upper() in ("POST", "PUT", "PATCH"):
                responses["413"] = _json(problem, "The body is larger than the service accepts.")
            if path == "/score":
                responses["400"] = _json(problem, "The body is not a valid request: where and why.")
                responses["415"] = _json(problem, "The body is not application/json.")
                responses["422"] = _json(problem, "Unknown feature names, each with where.")
                responses["503"] = _json(problem, "No model loaded yet: why, as /readyz says.")
                responses.pop(
                    "404", None
                )  # BentoML's generic entries; the service never sends them
                responses.pop("500", None)
            elif queue:
                for status, why in (
                    ("400", "A value the queue store refuses."),
                    ("404", "No such queue item."),
                    ("409", "The item is claimed by someone else or cannot move to that state."),
                    ("503", "The queue database is unreachable; retry later."),
                ):
                    if path.startswith("/queue") or status == "503":
                        responses[status] = _json("QueueProblem", why)
            elif path == "/readyz":
                responses["200"] = _json("Readiness", "Ready: the model and snapshot in use.")
                responses["503"] = _json("Readiness", "Not ready, and the reason.")
            elif path == "/metrics":
                responses["200"] = {
                    "description": "Prometheus metrics (role admin).",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
    return doc
