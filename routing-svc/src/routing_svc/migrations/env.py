from customs_shared.migrations import run_env
from routing_svc.audit import models as audit_models  # noqa: F401  (registers the tables)
from routing_svc.db import Base
from routing_svc.intelligence import models as intelligence_models  # noqa: F401
from routing_svc.lanes import models  # noqa: F401
from routing_svc.officers import models as officer_models  # noqa: F401
from routing_svc.risk import models as risk_models  # noqa: F401
from routing_svc.rules import models as rule_models  # noqa: F401

run_env(Base.metadata)
