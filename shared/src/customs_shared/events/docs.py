"""Renders docs/events.md from the catalog: ``python -m customs_shared.events.docs``.
A test fails when the committed file differs, so the doc cannot drift from the code."""

from __future__ import annotations

import json
import sys

from customs_shared.events.catalog import EVENT_TYPES, TOPICS


def render() -> str:
    lines = [
        "# Topics and events",
        "",
        "Generated from `shared/src/customs_shared/events/catalog.py` by",
        "`uv run python -m customs_shared.events.docs > docs/events.md`; do not edit by hand.",
        "",
        "Every record is a CloudEvents 1.0 structured-mode JSON envelope (`specversion`, `id`,",
        "`source`, `type`, `time`, `subject`, `datacontenttype`, `traceparent`, `data`). Consumers",
        "deduplicate by `id`; records they cannot handle go to the topic's `.dlq` twin with the",
        "headers `dlq-error`, `dlq-source-topic`, `dlq-source-partition`, `dlq-source-offset`",
        "and `dlq-consumer`. Cannot handle: not a CloudEvent, `data` that fails its type's",
        "schema, a type this catalog does not put on the topic (a type it does put there but",
        "the consumer does not handle is skipped), or a handler's permanent failure (such as an",
        "unknown declaration). A record too large to be copied with those headers is copied",
        "without its value (header `dlq-omitted-bytes`); it stays at its source offset.",
        "",
        "## Topics",
        "",
        "| topic | key | purpose | DLQ |",
        "|---|---|---|---|",
    ]
    for topic in TOPICS:
        purpose = topic.purpose + (" Compacted." if topic.compacted else "")
        lines.append(f"| `{topic.name}` | {topic.key} | {purpose} | `{topic.dlq}` |")
    lines += [
        "",
        "## Event types",
        "",
        "| type | topic | producer | consumers |",
        "|---|---|---|---|",
    ]
    for event in EVENT_TYPES:
        lines.append(
            f"| `{event.name}` | `{event.topic.name}` | {event.producer} | "
            f"{', '.join(event.consumers)} |"
        )
    for event in EVENT_TYPES:
        schema = json.dumps(event.data.model_json_schema(), indent=2, sort_keys=True)
        lines += [
            "",
            f"### `{event.name}`",
            "",
            (event.data.__doc__ or "").strip() or f"Data model `{event.data.__name__}`.",
            "",
            "```json",
            schema,
            "```",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
