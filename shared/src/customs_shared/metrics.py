"""Prometheus metrics shared by every service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
EVENTS_CONSUMED = Counter("events_consumed_total", "Kafka records handled", ["topic", "outcome"])
EVENT_HANDLING_LATENCY = Histogram(
    "event_handling_duration_seconds", "Time to handle one Kafka record", ["topic"]
)
EVENTS_PUBLISHED = Counter("events_published_total", "Outbox events published", ["topic"])
OUTBOX_PENDING = Gauge("outbox_pending_events", "Outbox rows not yet published")
PRODUCER_RENEWALS = Counter(
    "kafka_producer_renewals_total",
    "Times the process replaced its Kafka producer after the broker refused a record for "
    "good (the old one's partitions out of sequence)",
)
OUTBOX_OLDEST_UNPUBLISHED_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds",
    "Age of the oldest outbox row the relay has claimed but not yet published (0 when "
    "it keeps up): grows while Kafka refuses or cannot be reached",
)
CONSUMER_RENEWALS = Counter(
    "kafka_consumer_renewals_total",
    "Times the consumer group's member was replaced after every fetch had failed for "
    "CONSUMER_RENEW_AFTER_SECONDS (aiokafka's coordination or fetching had died)",
    ["group"],
)
FOLLOWER_RESTARTS = Counter(
    "kafka_follower_restarts_total",
    "Times a reader of a whole topic outside any group (token revocations, ipr-svc's "
    "records) started reading again because it stayed behind the topic's end without "
    "moving for CONSUMER_STALL_SECONDS",
    ["reader"],
)
CONSUMER_STALLED = Gauge(
    "consumer_stalled_seconds",
    "Seconds the consumer group's loop has had records waiting (a batch in hand or lag) "
    "without handling any, or every fetch has failed; 0 while it keeps up",
    ["group"],
)
CONSUMER_LAG = Gauge(
    "consumer_lag_records",
    "Records of an assigned partition not yet handled by this consumer (high watermark "
    "minus the next offset to handle), as of its last fetch",
    ["topic", "partition"],
)
