from customs_shared.migrations import run_env
from ipr_svc.applications import models as application_models  # noqa: F401  (registers)
from ipr_svc.db import SHARED_METADATA, Base
from ipr_svc.screening import models  # noqa: F401  (registers the tables)
from ipr_svc.suspension import models as suspension_models  # noqa: F401  (registers)

run_env(Base.metadata, *SHARED_METADATA)
