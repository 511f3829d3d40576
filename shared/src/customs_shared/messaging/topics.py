"""``python -m customs_shared.messaging.topics``: creates the catalog's topics."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from customs_shared.messaging.kafka import ensure_topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument(
        "--partitions", type=int, default=int(os.environ.get("KAFKA_PARTITIONS", "6"))
    )
    parser.add_argument("--replication", type=int, default=1)
    args = parser.parse_args()
    created = asyncio.run(
        ensure_topics(args.bootstrap, partitions=args.partitions, replication=args.replication)
    )
    sys.stderr.write(f"topics created: {', '.join(created) or 'none (all present)'}\n")


if __name__ == "__main__":
    main()
