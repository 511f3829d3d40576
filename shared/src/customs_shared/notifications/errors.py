from __future__ import annotations

from customs_shared.problems import Conflict, NotFound, UnprocessableContent


class WebhookTargetRefused(UnprocessableContent):
    slug = "webhook-target-refused"
    title = "The webhook URL resolves to an address that may not be called"


class SubscriptionNotFound(NotFound):
    slug = "webhook-subscription-not-found"
    title = "Webhook subscription not found"


class UnknownEventType(UnprocessableContent):
    slug = "webhook-event-type-unknown"
    title = "The subscription names events this service does not send"


class TooManySubscriptions(Conflict):
    slug = "webhook-subscriptions-limit"
    title = "The tenant has as many webhook subscriptions as it may"
