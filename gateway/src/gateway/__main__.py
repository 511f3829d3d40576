from customs_shared.server import serve
from gateway.settings import GatewaySettings

serve("gateway.main:create_app", GatewaySettings())
