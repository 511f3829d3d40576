"""One OpenAPI 3.1 document for the whole API: the gateway's own operations plus every
service's, with the services' security scheme and the problem schema.

The services' part is generated from their apps (``python -m gateway.api_document``
writes ``services-openapi.json`` beside this module; a test fails when it is stale), so
the gateway serves it without calling the services or importing their code.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from customs_shared.services import DOMAIN_SERVICES

SERVICES_DOCUMENT = "services-openapi.json"

Document = dict[str, Any]


class DocumentConflict(ValueError):
    """Two documents define the same operation or a different schema under one name."""


def merge(base: Document, others: Iterable[Document]) -> Document:
    merged = copy.deepcopy(base)
    paths: dict[str, dict[str, Any]] = merged.setdefault("paths", {})
    components: dict[str, dict[str, Any]] = merged.setdefault("components", {})
    for document in others:
        for path, operations in document.get("paths", {}).items():
            target = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in target and target[method] != operation:
                    raise DocumentConflict(f"{method} {path} is defined twice")
                target[method] = operation
        for section, items in document.get("components", {}).items():
            target_section = components.setdefault(section, {})
            for name, item in items.items():
                if name in target_section and target_section[name] != item:
                    raise DocumentConflict(f"components/{section}/{name} differs")
                target_section[name] = item
    return merged


def services_document() -> Document:
    text = resources.files("gateway").joinpath(SERVICES_DOCUMENT).read_text()
    document: Document = json.loads(text)
    return document


def build_services_document() -> Document:
    """Every domain service's document merged (their apps are imported, not run)."""
    documents = [
        importlib.import_module(f"{spec.package}.main").create_app().openapi()
        for spec in DOMAIN_SERVICES
    ]
    return merge({"paths": {}, "components": {}}, documents)


def install(app: FastAPI) -> None:
    """Makes ``app.openapi()`` (``/openapi.json`` and ``/docs``) the whole API's document."""
    own: Callable[[], Document] = app.openapi

    def whole() -> Document:
        if app.openapi_schema is None:
            app.openapi_schema = merge(own(), [services_document()])
        return app.openapi_schema

    app.openapi = whole  # type: ignore[method-assign]


def main() -> None:
    target = Path(__file__).with_name(SERVICES_DOCUMENT)
    document = build_services_document()
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
