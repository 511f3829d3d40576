from customs_shared.migrations import run_env
from signature_svc.checks import models  # noqa: F401  (registers the tables)
from signature_svc.db import Base

run_env(Base.metadata)
