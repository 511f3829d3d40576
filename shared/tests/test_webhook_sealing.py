"""Webhook signing secrets sealed at rest: AES-GCM under a named key, bound to their row,
still readable after a key rotation, refused with a key that is not configured."""

from __future__ import annotations

import uuid

import pytest

from customs_shared.notifications.sealing import SecretSealer, SecretUnreadable

OLD, NEW = "o" * 32, "n" * 32
SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


def test_a_sealed_secret_hides_the_secret_and_opens_to_it() -> None:
    owner = uuid.uuid4()
    sealer = SecretSealer(NEW)
    sealed = sealer.seal(owner, SECRET)
    assert sealed.startswith(sealer.current_prefix)
    assert SECRET not in sealed
    assert "whsec_" not in sealed
    assert sealer.seal(owner, SECRET) != sealed  # a fresh nonce each time
    assert sealer.open(owner, sealed) == SECRET


def test_a_sealed_secret_does_not_open_on_another_row() -> None:
    sealer = SecretSealer(NEW)
    sealed = sealer.seal(uuid.uuid4(), SECRET)
    with pytest.raises(SecretUnreadable):
        sealer.open(uuid.uuid4(), sealed)


def test_rotation_keeps_previous_keys_readable_and_names_the_key() -> None:
    owner = uuid.uuid4()
    old = SecretSealer(OLD)
    sealed = old.seal(owner, SECRET)
    rotated = SecretSealer(NEW, [OLD])
    assert rotated.current_prefix != old.current_prefix
    assert rotated.open(owner, sealed) == SECRET
    with pytest.raises(SecretUnreadable, match="not configured"):
        SecretSealer(NEW).open(owner, sealed)


def test_secrets_stored_in_clear_before_sealing_still_open() -> None:
    assert SecretSealer(NEW).open(uuid.uuid4(), SECRET) == SECRET


def test_tampered_and_garbage_values_are_unreadable() -> None:
    owner = uuid.uuid4()
    sealer = SecretSealer(NEW)
    sealed = sealer.seal(owner, SECRET)
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    for bad in (flipped, sealer.current_prefix + "%%%", "v9:abc:def", ""):
        with pytest.raises(SecretUnreadable):
            sealer.open(owner, bad)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        SecretSealer("short")
    with pytest.raises(ValueError, match="32 characters"):
        SecretSealer(NEW, ["short"])


def test_only_clear_secrets_and_previous_keys_are_stale() -> None:
    rotated = SecretSealer(NEW, [OLD])
    assert rotated.stale_prefixes == ["whsec_", SecretSealer(OLD).current_prefix]
    assert SecretSealer(NEW).stale_prefixes == ["whsec_"]
