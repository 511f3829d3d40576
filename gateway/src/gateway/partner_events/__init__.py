"""Partner event ingress: CloudEvents from partner agencies, validated and produced to Kafka."""
