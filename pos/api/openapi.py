"""GET /api/v1/openapi.json, generated from the routes' declared roles and pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app

from pos.api.common import PUBLIC, EndpointMeta, endpoint

bp = Blueprint("openapi", __name__)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "details": {"type": "object"}},
            "required": ["code", "message", "details"],
        }
    },
}


def build_spec() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        meta: EndpointMeta | None = getattr(view, "api_meta", None)
        if meta is None or not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": meta.summary,
                "x-roles": list(meta.roles),
                "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                               for p in rule.arguments],
                "responses": {"default": {"description": "error",
                                          "content": {"application/json": {
                                              "schema": {"$ref": "#/components/schemas/Error"}}}}},
            }
            if meta.roles != (PUBLIC,):
                op["security"] = [{"bearer": []}]
            if meta.body is not None:
                name = meta.body.__name__
                schemas[name] = meta.body.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schemas[name].pop("$defs", {}))
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{name}"}}}}
            if meta.query is not None:
                for field, info in meta.query.model_fields.items():
                    op["parameters"].append({"name": info.alias or field, "in": "query", "required": info.is_required(),
                                             "schema": {"type": "string"}})
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "creditmart", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


@bp.get("/openapi.json")
@endpoint(roles=PUBLIC, summary="This document")
def openapi():
    return build_spec()
