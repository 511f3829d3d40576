from customs_shared.migrations import run_env
from gateway.client_admin import models as client_models  # noqa: F401  (registers)
from gateway.db import Base
from gateway.partner_events import models  # noqa: F401  (registers the tables)

run_env(Base.metadata)
