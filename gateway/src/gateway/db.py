"""The gateway's own table metadata; its Alembic migrations are the schema's one source."""

from sqlalchemy.orm import DeclarativeBase

from customs_shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
