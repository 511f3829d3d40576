from customs_shared.server import serve
from ipr_svc.settings import IprSettings

serve("ipr_svc.main:create_app", IprSettings())
