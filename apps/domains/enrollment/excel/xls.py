"""Legacy .xls (BIFF8 in an OLE2 compound file): the cell extent of each sheet, read before any reader allocates it.

A reader such as calamine allocates (last row holding a cell) x (widest column) cells per sheet, so a 6 KB .xls with
values in A1 and IV65536 costs about a gigabyte. This module walks the compound file's allocation tables to the
"Workbook" stream and reads only the row and column of each cell record: no cell value is decoded.
Every offset and chain comes from the hostile file, so each one is bounds-checked and every chain is cut at the
number of sectors the file can hold.
"""

import struct
from dataclasses import dataclass

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_DIRECTORY_ENTRY = 128
_STREAM = 2
_BOF, _EOF, _FILEPASS = 0x0809, 0x000A, 0x002F
# Cell records (row, column first): NUMBER, RK, LABELSST, LABEL, BOOLERR, FORMULA, RSTRING, BLANK.
_CELLS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x0205, 0x0006, 0x00D6, 0x0201})
# MULRK and MULBLANK: row, first column, ..., last column in their last two bytes.
_MULTI_CELLS = frozenset({0x00BD, 0x00BE})
_GLOBALS = 0x0005
_DIMENSIONS, _BOUNDSHEET, _SST = 0x0200, 0x0085, 0x00FC


class XlsFormatError(ValueError):
    """Not a readable BIFF workbook in a compound file."""


class XlsEncryptedError(ValueError):
    """The workbook is protected by a password (FILEPASS record)."""


@dataclass
class XlsSheetExtent:
    index: int
    rows: int = 0
    columns: int = 0

    @property
    def dense_cells(self) -> int:
        return self.rows * self.columns


def xls_sheet_extents(data: bytes) -> list[XlsSheetExtent]:
    """The rows x columns a reader allocates for each worksheet of an .xls file. Raises XlsFormatError."""
    try:
        return _scan_biff(_workbook_stream(data))
    except struct.error as exc:
        raise XlsFormatError("truncated structure") from exc


def _workbook_stream(data: bytes) -> bytes:
    if len(data) < 512 or not data.startswith(OLE_MAGIC):
        raise XlsFormatError("not a compound file")
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise XlsFormatError("bad sector size")
    sector_size = 1 << sector_shift
    directory_count = struct.unpack_from("<I", data, 0x28)[0]
    (fat_count, directory_start, _, mini_cutoff, mini_fat_start, mini_fat_count, difat_start,
     difat_count) = struct.unpack_from("<IIIIIIII", data, 0x2C)
    sector_count = max(0, (len(data) - sector_size) // sector_size)
    # calamine reserves memory from these counts before reading a sector: a count no file of this size can hold
    # would make it allocate gigabytes (and abort the process).
    if (max(fat_count, difat_count) > sector_count
            or max(directory_count, mini_fat_count) * sector_size > len(data)):
        raise XlsFormatError("allocation counts larger than the file")

    def sector(number: int) -> bytes:
        if number >= sector_count:
            raise XlsFormatError("sector out of range")
        start = (number + 1) * sector_size
        return data[start:start + sector_size]

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n != _FREE]
    next_difat, seen = difat_start, 0
    while next_difat not in (_END_OF_CHAIN, _FREE) and seen <= difat_count and seen < sector_count:
        entries = struct.unpack(f"<{sector_size // 4}I", sector(next_difat))
        fat_sectors.extend(n for n in entries[:-1] if n != _FREE)
        next_difat, seen = entries[-1], seen + 1
    fat_sectors = fat_sectors[:max(fat_count, 0)]
    fat: list[int] = []
    for number in fat_sectors:
        fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(number)))

    def chain(start: int) -> list[int]:
        numbers, current = [], start
        while current not in (_END_OF_CHAIN, _FREE):
            if current >= len(fat) or len(numbers) >= sector_count:
                raise XlsFormatError("broken chain")
            numbers.append(current)
            current = fat[current]
        return numbers

    def read_chain(start: int) -> bytes:
        return b"".join(sector(number) for number in chain(start))

    directory = read_chain(directory_start)
    entries = {}
    for offset in range(0, len(directory) - _DIRECTORY_ENTRY + 1, _DIRECTORY_ENTRY):
        name_length, kind = struct.unpack_from("<HB", directory, offset + 0x40)
        name = directory[offset:offset + min(name_length, 64)].decode("utf-16-le", "replace").rstrip("\x00")
        start, size = struct.unpack_from("<IQ", directory, offset + 0x74)
        if sector_size == 512:
            size &= 0xFFFFFFFF  # version 3 files leave the high half undefined
        if size > len(data):
            raise XlsFormatError("stream larger than the file")
        entries.setdefault(name, (kind, start, size))
        if offset == 0:
            root = (start, size)
    stream = entries.get("Workbook") or entries.get("Book")
    if stream is None or stream[0] != _STREAM:
        raise XlsFormatError("no workbook stream")
    _, start, size = stream
    if size >= mini_cutoff:
        return read_chain(start)[:size]
    # Small streams live in 64-byte pieces of the root entry's mini stream.
    mini_stream = read_chain(root[0])[:root[1]]
    mini_fat_bytes = read_chain(mini_fat_start)[:mini_fat_count * sector_size]
    mini_fat = struct.unpack(f"<{len(mini_fat_bytes) // 4}I", mini_fat_bytes[:len(mini_fat_bytes) // 4 * 4])
    pieces, current = [], start
    while current not in (_END_OF_CHAIN, _FREE):
        if current >= len(mini_fat) or len(pieces) > len(mini_stream) // 64:
            raise XlsFormatError("broken mini chain")
        pieces.append(mini_stream[current * 64:current * 64 + 64])
        current = mini_fat[current]
    return b"".join(pieces)[:size]


def _scan_biff(stream: bytes) -> list[XlsSheetExtent]:
    """Cell extents of every sheet substream, checking the records calamine trusts to size its buffers."""
    extents: list[XlsSheetExtent] = []
    current: XlsSheetExtent | None = None
    substreams: set[int] = set()
    sheet_positions: list[int] = []
    position, end = 0, len(stream)
    unpack = struct.unpack_from
    while position + 4 <= end:
        record, length = unpack("<HH", stream, position)
        body = position + 4
        start, position = position, body + length
        if position > end:
            break
        if record in _CELLS:
            if current is not None and length >= 4:
                row, column = unpack("<HH", stream, body)
                if row >= current.rows:
                    current.rows = row + 1
                if column >= current.columns:
                    current.columns = column + 1
        elif record in _MULTI_CELLS:
            if current is not None and length >= 6:
                row = unpack("<H", stream, body)[0]
                last_column = unpack("<H", stream, position - 2)[0]
                current.rows = max(current.rows, row + 1)
                current.columns = max(current.columns, last_column + 1)
        elif record == _BOF and length >= 4:
            substreams.add(start)
            kind = unpack("<H", stream, body + 2)[0]
            # Every substream but the workbook globals is read as a sheet (charts and macro sheets included).
            current = XlsSheetExtent(index=len(extents)) if kind != _GLOBALS else None
            if current is not None:
                extents.append(current)
        elif record == _EOF:
            current = None
        elif record == _FILEPASS:
            raise XlsEncryptedError()
        elif record == _DIMENSIONS:
            rows, columns = _reserved(stream, body, length)
            if current is not None:
                current.rows, current.columns = max(current.rows, rows), max(current.columns, columns)
            elif rows * columns > 1:
                raise XlsFormatError("dimensions outside a sheet")
        elif record == _BOUNDSHEET and length >= 4:
            sheet_positions.append(unpack("<I", stream, body)[0])
        elif record == _SST and length >= 8:
            # calamine reserves one string per announced entry; each takes at least 3 bytes of the stream.
            count = unpack("<i", stream, body + 4)[0]
            if not 0 <= count <= end // 3:
                raise XlsFormatError("string table larger than the stream")
    if not extents and not stream.startswith(struct.pack("<H", _BOF)):
        raise XlsFormatError("not a BIFF stream")
    # calamine reads each sheet from the offset its BOUNDSHEET record gives: anywhere but the start of a
    # substream this scan walked, it would read other records (or index past the stream and panic).
    if any(offset not in substreams for offset in sheet_positions):
        raise XlsFormatError("sheet offset not at a sheet")
    return extents


def _reserved(stream: bytes, body: int, length: int) -> tuple[int, int]:
    """The rows x columns calamine reserves for a DIMENSIONS record, with its unsigned 32-bit arithmetic."""
    if length == 14:
        first_row, last_row, first_column, last_column = struct.unpack_from("<IIHH", stream, body)
    elif length == 10:
        first_row, last_row, first_column, last_column = struct.unpack_from("<HHHH", stream, body)
    else:
        raise XlsFormatError("bad dimensions record")
    if last_row < 1 or last_column < 1:
        return 1, 1
    return (last_row - first_row) % 2**32, (last_column - first_column) % 2**32
