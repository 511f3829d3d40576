from customs_shared.migrations import run_env
from declaration_svc.db import SHARED_METADATA, Base
from declaration_svc.declarations import models  # noqa: F401  (registers the tables)

run_env(Base.metadata, *SHARED_METADATA)
