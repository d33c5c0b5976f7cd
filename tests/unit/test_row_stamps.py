"""row_stamps.py: each row's newest version, in a file two processes (here two mappings) share."""

from __future__ import annotations

from pathlib import Path

from loadtest.platform.row_stamps import SLOTS, RowStamps


def test_a_stamp_is_seen_by_the_other_mapping_and_a_late_older_one_never_hides_it(tmp_path: Path) -> None:
    mine, theirs = RowStamps(str(tmp_path / "p.db")), RowStamps(str(tmp_path / "p.db"))
    assert not theirs.newest(7, 0)  # nothing stamped: read the row
    mine.stamp(7, 3)
    assert theirs.newest(7, 3) and not theirs.newest(7, 2)
    mine.stamp(7, 2)  # a process descheduled between its commit and its stamp
    assert theirs.newest(7, 3)


def test_versions_past_two_to_the_24_still_count_as_newer(tmp_path: Path) -> None:
    stamps = RowStamps(str(tmp_path / "p.db"))
    for version in ((1 << 24) - 2, (1 << 24) - 1, 1 << 24):
        stamps.stamp(9, version)
    assert stamps.newest(9, 1 << 24)
    stamps.stamp(9, (1 << 24) - 1)
    assert stamps.newest(9, 1 << 24)


def test_a_row_whose_slot_another_took_or_that_was_deleted_is_never_trusted(tmp_path: Path) -> None:
    stamps = RowStamps(str(tmp_path / "p.db"))
    stamps.stamp(7, 3)
    stamps.stamp(7 + SLOTS, 0)  # the same slot
    assert not stamps.newest(7, 3)
    stamps.forget(7 + SLOTS)
    assert not stamps.newest(7 + SLOTS, 0)
    stamps.stamp(5, 1)
    stamps.clear()
    assert not stamps.newest(5, 1)
