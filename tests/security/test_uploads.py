"""Crafted uploads: a Word file that inflates to gigabytes is refused without inflating it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from referrals.concerns.files import (
    CONTENT_TYPES_MAX_BYTES,
    read_member_bounded,
    sniff_content_type,
)
from tests.conftest import ROOT
from tests.files import docx_bytes

# The file under the 10 MB limit inflates to this: the memory a naive check would use.
INFLATED = 512 * 1024 * 1024
EXTRA_RSS_LIMIT_KB = 50 * 1024

# Runs in its own process, so its peak memory is the check's alone.
SCRIPT = """
import json, resource, sys
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from referrals.concerns.attachments import attachment_check
from referrals.core.errors import ApplicationError

with open(sys.argv[1], "rb") as handle:
    data = handle.read()
upload = SimpleUploadedFile("report.docx", data, content_type="application/msword")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    attachment_check(upload=upload)
    refused = ""
except ApplicationError as exc:
    refused = exc.message
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"extra_kb": after - before, "refused": refused, "size": len(data)}))
"""


def _bomb(path: Path, *, inflated: int) -> Path:
    """A .docx whose [Content_Types].xml inflates to `inflated` bytes of padding."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("[Content_Types].xml", "w", force_zip64=True) as member:
            for _ in range(inflated // len(chunk)):
                member.write(chunk)
        archive.writestr("word/document.xml", "<w:document/>")
    return path


def test_a_zip_bomb_docx_is_refused_within_50_mb_of_memory(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.docx", inflated=INFLATED)
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DEMO_MODE": "1",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "sqlite://",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bomb)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["size"] < 10 * 1024 * 1024  # it passes the size limit: the content must not
    assert result["refused"].startswith("The selected file must be a PDF")
    assert result["extra_kb"] < EXTRA_RSS_LIMIT_KB, result


def test_a_member_is_read_no_further_than_its_limit_whatever_its_header_says(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b" " * (CONTENT_TYPES_MAX_BYTES + 10))
    with zipfile.ZipFile(big) as archive:
        assert read_member_bounded(archive, "[Content_Types].xml", CONTENT_TYPES_MAX_BYTES) is None
        small = read_member_bounded(archive, "[Content_Types].xml", CONTENT_TYPES_MAX_BYTES + 10)
        assert small is not None


@pytest.mark.parametrize("pages", [1, 50])
def test_a_real_word_document_still_passes(tmp_path: Path, pages: int) -> None:
    path = tmp_path / "letter.docx"
    path.write_bytes(docx_bytes("A page of notes. " * 200 * pages))
    with path.open("rb") as handle:
        assert sniff_content_type(handle) is not None
