from customs_shared.server import serve

serve("gateway.main:create_app", default_port=8000, env_prefix="GATEWAY_")
