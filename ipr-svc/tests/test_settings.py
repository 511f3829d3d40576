"""The webhook secret key of ipr-svc: required outside a local run, never echoed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ipr_svc.settings import IprSettings


def test_production_refuses_to_start_without_a_webhook_secret_key() -> None:
    with pytest.raises(ValidationError, match="IPR_WEBHOOK_SECRET_KEY is required"):
        IprSettings(environment="production")
    assert IprSettings(environment="production", webhook_secret_key="k" * 32).webhook_secret_key


def test_a_short_webhook_secret_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="at least 32") as raised:
        IprSettings(environment="production", webhook_secret_key="short-webhook-key")
    assert "short-webhook-key" not in str(raised.value)
