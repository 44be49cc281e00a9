"""``FullCollections``: full garbage collections are put off while held."""

from __future__ import annotations

import gc

import pytest

from tui_chat.collect import FullCollections


@pytest.fixture(autouse=True)
def restore_thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_hold_puts_off_full_collections_and_release_restores() -> None:
    gc.set_threshold(700, 10, 10)
    hold = FullCollections()
    assert not hold.held
    hold.hold()
    assert hold.held
    assert gc.get_threshold()[:2] == (700, 10)
    assert gc.get_threshold()[2] >= 1_000_000
    assert hold.collect() == 0  # nothing while held
    assert hold.release() is True
    assert not hold.held
    # Still put off until the collection runs: the next young collection must not find
    # the oldest generation overdue and run it at once.
    assert gc.get_threshold()[2] >= 1_000_000
    hold.collect()
    assert gc.get_threshold() == (700, 10, 10)


def test_holds_nest_and_only_the_last_release_counts() -> None:
    gc.set_threshold(500, 7, 9)
    hold = FullCollections()
    hold.hold()
    hold.hold()
    assert hold.release() is False
    assert gc.get_threshold()[2] >= 1_000_000
    assert hold.release() is True
    hold.hold()  # held again before the put-off collection ran
    assert hold.collect() == 0
    assert hold.release() is True
    hold.collect()
    assert gc.get_threshold() == (500, 7, 9)
    assert hold.release() is False  # an extra release changes nothing
    assert gc.get_threshold() == (500, 7, 9)


def test_collect_after_release_collects_cycles() -> None:
    hold = FullCollections()
    hold.hold()
    hold.release()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert hold.collect() >= 2
