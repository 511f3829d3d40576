from customs_shared.server import serve

serve("declaration_svc.main:create_app", default_port=8001, env_prefix="DECLARATION_")
