"""The schemas of the OpenAPI document: request bodies as the API validates them, answers
as it sends them, and the error body every error has.

Each model gets the JSON Schema of pydantic's mode for its use, with the API's own rules
on top, so that client generators type what a client really sends and gets:

- A request body (mode "validation"): a field with a default may be left out. Its default
  is said in its description, not as `default`, which generators read as "the server
  always fills it in" (openapi-typescript makes such a field required).
- An answer (mode "serialization"): answers are sent with `exclude_none`, so a field
  whose default is None is left out when it is None, never sent as null (optional, and
  not nullable); every other field with a default is always sent (required).

Where the two schemas of one model differ, pydantic names them apart (`X-Input`,
`X-Output`).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Type

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue, models_json_schema
from pydantic.main import BaseModel
from pydantic_core import CoreSchema, core_schema

from chalicelib.web.responses import REQUEST_ID_HEADER
from chalicelib.web.status import ANSWERS

ERROR_SCHEMA = "ErrorBody"
FIELD_ERROR_SCHEMA = "FieldError"
REF = "#/components/schemas/{model}"
INTERNAL_ERROR_CODE = "InternalError"
# Codes answered before any view runs, besides those of `ANSWERS`: Chalice's router
# (`chalicelib.web.middleware`: a method the path does not have) and the deployed API's
# gateway (`infra/gateway_responses.py`: throttling). tests/test_openapi.py holds both
# tables to this list.
EDGE_CODES = ("MethodNotAllowed", "TooManyRequests")

# Keyed by (model, mode); pydantic types the model as "a model or a pydantic dataclass".
ModelRefs = Mapping[Tuple[Any, JsonSchemaMode], Mapping[str, Any]]


class ContractJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, with the request and answer rules of this module's doc."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return not _defaults_to_none(field["schema"])
        return super().field_is_required(field, total)

    def field_title_should_be_set(self, schema: Any) -> bool:  # pydantic names its type privately
        return False  # "Cachemaxage" says less than the property's own name

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if _defaults_to_none(schema):
            inner = schema["schema"]
            if self.mode == "serialization" and inner["type"] == "nullable":
                inner = inner["schema"]  # left out when None: never null
            return self.generate_inner(inner)
        json_schema = super().default_schema(schema)
        if self.mode == "validation" and "default" in json_schema:
            note = f"Default: `{json.dumps(json_schema.pop('default'))}`."
            described = json_schema.get("description")
            json_schema["description"] = f"{described} {note}" if described else note
        return json_schema


def _defaults_to_none(schema: CoreSchema) -> bool:
    return schema["type"] == "default" and "default" in schema and schema["default"] is None


def model_schemas(
    bodies: Sequence[Type[BaseModel]], answers: Sequence[Type[BaseModel]]
) -> Tuple[ModelRefs, Dict[str, Any]]:
    """The `$ref` of each (model, mode), and every schema they need, by name."""
    wanted: Dict[Tuple[Type[BaseModel], JsonSchemaMode], None] = {}
    wanted.update(dict.fromkeys((model, "validation") for model in bodies))
    wanted.update(dict.fromkeys((model, "serialization") for model in answers))
    refs, definitions = models_json_schema(list(wanted), ref_template=REF, schema_generator=ContractJsonSchema)
    schemas = dict(definitions.get("$defs", {}))
    for name, schema in error_schemas().items():
        if name in schemas:
            raise ValueError(f"a model is named {name}, which the document keeps for the error body")
        schemas[name] = schema
    return refs, _with_operation_types(schemas)


def _with_operation_types(schemas: Dict[str, Any]) -> Dict[str, Any]:
    """An operation's `type` is stored as a string; the document names the types there
    are, from the registry of operation types (which loads with this route only)."""
    from chalicelib.writes import operation_types

    operation = schemas.get("Operation")
    if operation is None:
        return schemas
    types = {**operation["properties"]["type"], "enum": list(operation_types())}
    schemas["Operation"] = {**operation, "properties": {**operation["properties"], "type": types}}
    return schemas


def error_codes() -> List[str]:
    """Every `error` an error body can have."""
    return sorted({code for _, code in ANSWERS.values()} | {INTERNAL_ERROR_CODE, *EDGE_CODES})


def error_schemas() -> Dict[str, Any]:
    return {
        ERROR_SCHEMA: {
            "title": ERROR_SCHEMA,
            "description": "Every error the API answers has this body.",
            "type": "object",
            "properties": {
                "error": {
                    "type": "string",
                    "enum": error_codes(),
                    "description": "A stable code to branch on; the status says as much, the code says which.",
                },
                "message": {"type": "string", "description": "What went wrong, for people."},
                "requestId": {"type": "string", "description": f"The same as the `{REQUEST_ID_HEADER}` header."},
                "details": {
                    "type": "array",
                    "description": "With 422: one entry per invalid field. With 409 `SchemaBreaksPublished`: "
                    "one per published config the schema would reject, with its `id`, `page`, `version` "
                    "and `errors` besides.",
                    "items": {"$ref": REF.format(model=FIELD_ERROR_SCHEMA)},
                },
            },
            "required": ["error", "message", "requestId"],
        },
        FIELD_ERROR_SCHEMA: {
            "title": FIELD_ERROR_SCHEMA,
            "type": "object",
            "properties": {
                "field": {
                    "type": "string",
                    "description": "Where: a body field, dotted (`settings.x`); or, for a settings schema's "
                    "errors, a JSON Pointer (`settings/hero/title`, `schema/properties/x/type`).",
                },
                "message": {"type": "string", "description": "What is wrong with it."},
                "type": {"type": "string", "description": "A stable kind of error, such as `string_pattern_mismatch`."},
            },
            "required": ["field", "message", "type"],
        },
    }
