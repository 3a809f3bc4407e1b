"""The API's published shapes change only on purpose.

tests/core/openapi_shapes.json holds, from the app's own OpenAPI document, every component schema (each body and
answer with its fields in order, their types, nulls and defaults) and, for every operation, the schemas it takes
and answers with. A route or schema moved without meaning to change the API leaves both as they were; a deliberate
change to the API rewrites the file with `PYTHONPATH=. .venv/bin/python -m tests.core.test_openapi` and the diff
shows in review what clients will see.
"""

import json
from pathlib import Path

from backend.web import create_app

SHAPES = Path(__file__).with_name("openapi_shapes.json")


def _refs(node) -> list[str]:
    """The component schemas a part of an operation names, in document order."""
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def shapes() -> dict:
    document = create_app().openapi()
    operations = {
        f"{method.upper()} {path}": {
            "body": _refs(operation.get("requestBody", {})),
            "answers": {status: _refs(answer) for status, answer in operation.get("responses", {}).items()},
        }
        for path, methods in document["paths"].items() for method, operation in methods.items()
    }
    return {"schemas": document["components"]["schemas"], "operations": operations}


def _text(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) + "\n"


def test_the_api_answers_and_bodies_keep_their_shapes():
    assert _text(shapes()) == SHAPES.read_text(encoding="utf-8"), (
        "The OpenAPI document's schemas changed. If that is meant, rewrite tests/core/openapi_shapes.json with "
        "`PYTHONPATH=. .venv/bin/python -m tests.core.test_openapi` and say so in the changelog.")


if __name__ == "__main__":
    SHAPES.write_text(_text(shapes()), encoding="utf-8")
