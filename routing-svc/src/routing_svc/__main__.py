from customs_shared.server import serve
from routing_svc.settings import RoutingSettings

serve("routing_svc.main:create_app", RoutingSettings())
