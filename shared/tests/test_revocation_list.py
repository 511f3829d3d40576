from __future__ import annotations

from datetime import UTC, datetime

from customs_shared.revocation import (
    Revocation,
    RevocationKind,
    RevocationList,
    RevocationListener,
)

REVOKED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_revoked_jti_is_refused_and_others_are_not() -> None:
    revocations = RevocationList()
    revocations.add(Revocation(kind=RevocationKind.TOKEN, value="j1", revoked_at=REVOKED_AT))

    assert revocations.is_revoked({"jti": "j1", "sub": "c", "iat": 0})
    assert not revocations.is_revoked({"jti": "j2", "sub": "c", "iat": 0})


def test_a_revoked_client_loses_tokens_issued_until_then() -> None:
    revocations = RevocationList()
    revocations.add(Revocation(kind=RevocationKind.CLIENT, value="c", revoked_at=REVOKED_AT))
    at = int(REVOKED_AT.timestamp())

    assert revocations.is_revoked({"jti": "x", "sub": "c", "iat": at - 60})
    assert revocations.is_revoked({"jti": "x", "sub": "c", "iat": at})
    assert not revocations.is_revoked({"jti": "x", "sub": "c", "iat": at + 1})
    assert not revocations.is_revoked({"jti": "x", "sub": "other", "iat": at - 60})


def test_record_keys_follow_the_topic_key() -> None:
    revocation = Revocation(kind=RevocationKind.CLIENT, value="c", revoked_at=REVOKED_AT)
    assert revocation.key == "client:c"
    assert Revocation.model_validate_json(revocation.model_dump_json()) == revocation


def test_old_revocations_are_listed_and_forgotten_by_key() -> None:
    revocations = RevocationList()
    later = REVOKED_AT.replace(hour=13)
    revocations.add(Revocation(kind=RevocationKind.TOKEN, value="old", revoked_at=REVOKED_AT))
    revocations.add(Revocation(kind=RevocationKind.CLIENT, value="c", revoked_at=REVOKED_AT))
    revocations.add(Revocation(kind=RevocationKind.TOKEN, value="new", revoked_at=later))

    assert sorted(revocations.older_than(later)) == ["client:c", "jti:old"]
    for key in revocations.older_than(later):
        revocations.forget(key)
    assert len(revocations) == 1
    assert not revocations.is_revoked({"jti": "old", "sub": "c", "iat": 0})
    assert revocations.is_revoked({"jti": "new", "sub": "c", "iat": 0})
    revocations.forget("nonsense")  # a key of no kind changes nothing
    assert len(revocations) == 1


def test_unreadable_revocation_records_are_skipped_and_the_list_goes_on() -> None:
    # Every process reads the whole topic without a group: a record it cannot read is
    # logged and skipped, never a reason to stop refusing the revocations that follow.
    listener_list = RevocationList()
    listener = RevocationListener("127.0.0.1:9", listener_list, client_id="test")
    for poison in (b"\x00{nope", b'{"a": 1}', b'{"kind": "token", "value": ""}', b"[" * 10_000):
        listener._apply(b"jti:x", poison)
    assert len(listener_list) == 0
    valid = Revocation(kind=RevocationKind.TOKEN, value="j1", revoked_at=REVOKED_AT)
    listener._apply(valid.key.encode(), valid.model_dump_json().encode())
    assert listener_list.is_revoked({"jti": "j1", "sub": "c", "iat": 0})
