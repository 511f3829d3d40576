from customs_shared.server import serve

serve("ipr_svc.main:create_app", default_port=8003, env_prefix="IPR_")
