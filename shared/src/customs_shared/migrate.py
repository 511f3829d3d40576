"""``python -m customs_shared.migrate <service>``: upgrades one service's database to the
latest revision and exits. Services also migrate at start (advisory-locked); this one-shot
form is for a deployment step that runs before the new version's pods (a Helm hook Job,
a compose service), so a failing migration stops the rollout instead of crash-looping pods.

It reads the same ``<PREFIX>DATABASE_URL`` as the service, and needs nothing else."""

from __future__ import annotations

import argparse
import asyncio
import logging

from customs_shared.db import create_engine, run_migrations
from customs_shared.logs import configure_logging
from customs_shared.services import DATABASE_SERVICES, ServiceSpec
from customs_shared.settings import ServiceSettings

log = logging.getLogger(__name__)


async def migrate(spec: ServiceSpec, settings: ServiceSettings) -> None:
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    try:
        await run_migrations(engine, spec.migrations)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    by_name = {spec.name: spec for spec in DATABASE_SERVICES}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=sorted(by_name))
    spec = by_name[parser.parse_args(argv).service]
    # The service's own prefix, so the Job and the Deployment share one Secret key.
    settings = ServiceSettings(_env_prefix=spec.prefix)
    configure_logging(f"{spec.name}-migrate", settings.log_level)
    asyncio.run(migrate(spec, settings))
    log.info("migrated to head", extra={"service": spec.name})


if __name__ == "__main__":
    main()
