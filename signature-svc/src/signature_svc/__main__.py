from customs_shared.server import serve
from signature_svc.settings import SignatureSettings

serve("signature_svc.main:create_app", SignatureSettings())
