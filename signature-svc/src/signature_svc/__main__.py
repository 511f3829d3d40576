from customs_shared.server import serve

serve("signature_svc.main:create_app", default_port=8002, env_prefix="SIGNATURE_")
