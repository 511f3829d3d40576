from customs_shared.server import serve

serve("routing_svc.main:create_app", default_port=8004, env_prefix="ROUTING_")
