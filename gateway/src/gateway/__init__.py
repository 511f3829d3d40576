"""API gateway of the customs clearance cluster: OAuth2 tokens, JWKS, rate limits, reverse proxy."""
