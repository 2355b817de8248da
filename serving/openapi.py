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
from serving.problems import STATUS_MEANING
from serving.schemas import Problem, Readiness

BEARER = "bearerKey"


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
                responses["401"] = _json(problem, STATUS_MEANING[401])
                responses["403"] = _json(problem, f"The key lacks role {role or 'admin'!r}.")
                responses.setdefault("400", _json(problem, "More than one Authorization header."))
                responses.setdefault("503", _json(problem, "The API keys file cannot be read."))
            if method.upper() in ("POST", "PUT", "PATCH"):
                responses["413"] = _json(problem, STATUS_MEANING[413])
            # Invalid input is 400 everywhere, never FastAPI's 422; BentoML's generic 404/500
            # entries are answers the service never sends.
            for status in ("422", "404", "500"):
                responses.pop(status, None)
            if path == "/score":
                responses["400"] = _json(problem, STATUS_MEANING[400])
                responses["415"] = _json(problem, STATUS_MEANING[415])
                responses["503"] = _json(problem, "No model loaded yet: why, as /readyz says.")
            elif queue:
                statuses = (400, 404, 409, 503) if path.startswith("/queue") else (400, 404, 503)
                for status in statuses:
                    responses[str(status)] = _json(problem, STATUS_MEANING[status])
            elif path == "/readyz":
                responses["200"] = _json("Readiness", "Ready: the model and snapshot in use.")
                responses["503"] = _json("Readiness", "Not ready, and the reason.")
            elif path == "/metrics":
                responses["200"] = {
                    "description": "Prometheus metrics (role admin).",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
    return doc
