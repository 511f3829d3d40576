"""Problems the IPR attachments API answers with."""

from __future__ import annotations

from customs_shared.problems import NotFound, PayloadTooLarge, UnprocessableContent


class IprAttachmentTooLarge(PayloadTooLarge):
    slug = "ipr-attachment-too-large"
    title = "The attachment is larger than one upload may be"


class IprAttachmentSignatureRequired(UnprocessableContent):
    slug = "ipr-attachment-signature-required"
    title = "An enterprise's attachment must come with its detached CMS signature"


class InvalidIprAttachmentSignature(UnprocessableContent):
    slug = "invalid-ipr-attachment-signature"
    title = "The signature is not a detached CMS signature in DER or PEM"


class IprAttachmentNotFound(NotFound):
    slug = "ipr-attachment-not-found"
    title = "Attachment not found"
