"""Which version of each response row is the newest, in memory every platform process maps.

A shared store (`loadtest mock --workers N`) lets each process keep the respondents it served in
memory, as a lone process does, only if it can tell, before it uses one, that no other process
moved that respondent since: reading the row's version from SQLite costs nearly what reading
the row does (a read transaction, with its file locks). So every process stamps each row it
commits into a table of 8-byte slots in a file beside the database (`<db>-rows`, mmapped), and
trusts a row it holds only while the slot says that row, at that version.

A slot holds (row id << 24) | (version mod 2**24), written after the commit and before the reply
leaves: a request that follows another process's reply sees that process's stamp. Stamps are
written under a lock on the file, and never replace a newer version of the same row, so a
process that stamps late (descheduled between its commit and its stamp) cannot hide a newer
commit another process stamped meanwhile. Rows share a
slot when their ids are SLOTS apart; a row whose slot another row took is read from the file
again (never trusted by mistake: the id is in the slot). A zero slot matches no row (ids start
at 1); deleting a row, or all rows, zeroes slots.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

__all__ = ["SLOTS", "RowStamps"]

SLOTS = 1 << 18  # 2 MiB: far more slots than respondents one run keeps in flight
_SLOT = struct.Struct("<Q")
_VERSION_BITS = 24
_VERSION_MASK = (1 << _VERSION_BITS) - 1  # versions are kept mod 2**24 (see stamp for the wrap)
_HALF = 1 << (_VERSION_BITS - 1)


def _stamp(row_id: int, version: int) -> int:
    return (row_id << _VERSION_BITS) | (version & _VERSION_MASK)


class RowStamps:
    def __init__(self, db_path: str) -> None:
        self._fd = os.open(db_path + "-rows", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        size = SLOTS * _SLOT.size
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)  # zeros; to the same size if another process got here first
        self._map = mmap.mmap(self._fd, size)

    def stamp(self, row_id: int, version: int) -> None:
        offset = (row_id % SLOTS) * _SLOT.size
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            held = _SLOT.unpack_from(self._map, offset)[0]
            # Newer by serial-number arithmetic (ahead by less than half the space), so a version
            # that wrapped past 2**24 still counts as newer.
            ahead = (version - held) & _VERSION_MASK
            if held >> _VERSION_BITS != row_id or 0 < ahead < _HALF:
                _SLOT.pack_into(self._map, offset, _stamp(row_id, version))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def forget(self, row_id: int) -> None:
        offset = (row_id % SLOTS) * _SLOT.size
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if _SLOT.unpack_from(self._map, offset)[0] >> _VERSION_BITS == row_id:
                _SLOT.pack_into(self._map, offset, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def newest(self, row_id: int, version: int) -> bool:
        """Whether this version of the row is the newest committed (False: read it again)."""
        return bool(_SLOT.unpack_from(self._map, (row_id % SLOTS) * _SLOT.size)[0] == _stamp(row_id, version))

    def clear(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._map[:] = bytes(len(self._map))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
