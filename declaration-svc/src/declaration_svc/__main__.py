from customs_shared.server import serve
from declaration_svc.settings import DeclarationSettings

serve("declaration_svc.main:create_app", DeclarationSettings())
