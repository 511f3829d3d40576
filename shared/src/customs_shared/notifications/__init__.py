"""Notifications to the people a service works for (brokers, right holders): every change
goes to a pull queue and to the webhooks subscribed to it, signed per Standard Webhooks,
retried with exponential backoff and jitter until delivered; a target failing persistently
is disabled until its client enables it again, and nothing is skipped meanwhile. One
mechanism for every service that notifies someone."""
