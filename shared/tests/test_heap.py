"""What a service does to the garbage collector once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from customs_shared.server import YOUNG_COLLECTION_THRESHOLD, freeze_heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_start_up_objects_are_frozen_and_young_ones_collected_less_often() -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    freeze_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
    assert YOUNG_COLLECTION_THRESHOLD > 700
