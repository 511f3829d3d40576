from customs_shared.migrations import run_env
from routing_svc.db import Base
from routing_svc.lanes import models  # noqa: F401  (registers the tables)

run_env(Base.metadata)
