from __future__ import annotations

from customs_shared.problems import NotFound, PayloadTooLarge, UnprocessableContent


class DocumentTooLarge(PayloadTooLarge):
    slug = "document-too-large"
    title = "The document is larger than one upload may be"


class DocumentSignatureRequired(UnprocessableContent):
    slug = "document-signature-required"
    title = "An enterprise's document must come with its detached CMS signature"


class InvalidDocumentSignature(UnprocessableContent):
    slug = "invalid-document-signature"
    title = "The signature is not a detached CMS signature in DER or PEM"


class DocumentNotFound(NotFound):
    slug = "document-not-found"
    title = "Document not found"
