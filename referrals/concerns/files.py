"""What a file is, decided from its content: the name and the browser's claim are ignored."""

from __future__ import annotations

import re
import zipfile
from typing import IO

from referrals.models import ATTACHMENT_EXTENSIONS, AttachmentType

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
_ZIP = b"PK\x03\x04"
# Text that a browser or another program would treat as active content is not plain text.
_MARKUP = re.compile(rb"^\s*<(?:!doctype|html|script|svg|\?xml|head|body|iframe)", re.IGNORECASE)
# Control characters other than tab, line feed, form feed and carriage return.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


# A Word package is a zip: its members are checked before any is read, and read through a
# bounded stream, so a small file that inflates to gigabytes (a zip bomb) is refused cheaply.
DOCX_MAX_MEMBERS = 1000
# No part of a document may inflate past this, nor all its parts together past the total.
DOCX_MAX_MEMBER_BYTES = 50 * 1024 * 1024
DOCX_MAX_TOTAL_BYTES = 100 * 1024 * 1024
# XML compresses well, but not a thousand to one: that is padding made to inflate.
DOCX_MAX_RATIO = 100
# [Content_Types].xml lists a few dozen parts: a few kilobytes, never megabytes.
CONTENT_TYPES_MAX_BYTES = 1024 * 1024


def _archive_is_bounded(archive: zipfile.ZipFile) -> bool:
    """Every member's declared size and compression ratio are plausible for a document."""
    members = archive.infolist()
    if len(members) > DOCX_MAX_MEMBERS:
        return False
    if sum(member.file_size for member in members) > DOCX_MAX_TOTAL_BYTES:
        return False
    return all(
        member.file_size <= DOCX_MAX_MEMBER_BYTES
        and member.file_size <= DOCX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )


def read_member_bounded(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """A member's bytes, or None if it inflates past `limit` (whatever its header claims)."""
    with archive.open(name) as member:
        data = member.read(limit + 1)
    return None if len(data) > limit else data


def _is_docx(stream: IO[bytes]) -> bool:
    """An Office Open XML word-processing package, not any zip file renamed."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            if not _archive_is_bounded(archive):
                return False
            types = read_member_bounded(archive, "[Content_Types].xml", CONTENT_TYPES_MAX_BYTES)
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return False
    return types is not None and b"wordprocessingml.document.main+xml" in types


def _is_plain_text(data: bytes) -> bool:
    if not data or _CONTROL.search(data) or _MARKUP.match(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff_content_type(stream: IO[bytes]) -> AttachmentType | None:
    """The accepted type this file's bytes are, or None when they are none of them."""
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(_PDF):
        return AttachmentType.PDF
    if head.startswith(_PNG):
        return AttachmentType.PNG
    if head.startswith(_JPEG):
        return AttachmentType.JPEG
    if head.startswith(_ZIP):
        found = AttachmentType.DOCX if _is_docx(stream) else None
        stream.seek(0)
        return found
    data = stream.read(ATTACHMENT_MAX_BYTES + 1)
    stream.seek(0)
    return AttachmentType.TEXT if _is_plain_text(data) else None


def safe_file_name(name: str, content_type: AttachmentType) -> str:
    """The person's name for the file, made safe for a header, ending in the real type."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^\w\- ]+", "_", stem).strip(" ._")[:120] or "attachment"
    return f"{stem}.{ATTACHMENT_EXTENSIONS[content_type]}"
