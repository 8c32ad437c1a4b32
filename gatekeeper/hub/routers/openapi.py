"""Bodies the hub reads and parses itself (the signature covers the raw bytes), in the OpenAPI spec."""

from __future__ import annotations

from pydantic import BaseModel

#: Schemas of bodies parsed by hand (and of their nested models), added to the spec's components.
NESTED_SCHEMAS: dict[str, dict] = {}


def json_body(model: type[BaseModel]) -> dict:
    """The ``openapi_extra`` of an endpoint that reads and parses its JSON body itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    NESTED_SCHEMAS.update(schema.pop("$defs", {}))
    NESTED_SCHEMAS[model.__name__] = schema
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}
