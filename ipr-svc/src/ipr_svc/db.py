"""The service's own table metadata; its Alembic migrations are the schema's one source."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from customs_shared.db import new_metadata
from customs_shared.notifications.models import NotificationsBase


class Base(DeclarativeBase):
    metadata = new_metadata()


# Tables defined in shared/ that this service's migrations create too.
SHARED_METADATA: tuple[MetaData, ...] = (NotificationsBase.metadata,)
