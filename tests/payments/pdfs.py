"""Reading the portal's PDFs back as a viewer would: their text, their fonts, their pixels."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

#: poppler-utils' renderer; CI has it (the Debian package poppler-utils).
PDFTOPPM = shutil.which("pdftoppm")
#: Rendering resolution, in dots per inch.
DPI = 72


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _fonts_of(resources: Any) -> list[DictionaryObject]:
    fonts = resources.get_object().get("/Font") if resources else None
    return [font.get_object() for font in (fonts.get_object().values() if fonts else [])]


def fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """Every font the pages use (a composite font's descendants too), and whether the PDF
    carries its glyphs (a FontFile, FontFile2 or FontFile3 in its descriptor)."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        pending = _fonts_of(page.get("/Resources"))
        while pending:
            font = pending.pop()
            pending.extend(d.get_object() for d in font.get("/DescendantFonts", []))
            if font.get("/Subtype") == "/Type0":
                continue  # its glyphs live in its descendant, checked in turn
            descriptor = font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found.append((str(font.get("/BaseFont")), embedded))
    return found


@dataclass(frozen=True)
class Drawn:
    """Where a string was drawn on the first page, in PDF points from the bottom left."""

    text: str
    x: float
    y: float
    size: float


def drawn(pdf: bytes, needle: str) -> Drawn:
    """The first string drawn on the first page that contains ``needle``."""
    found: list[Drawn] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if needle in text and not found:
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append(Drawn(text.strip(), x, y, size * (tm[3] or 1)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    assert found, f"{needle!r} is not drawn on the first page"
    return found[0]


def _render(pdf: bytes, tmp_path: Path, *, x: int, y: int, width: int, height: int) -> bytes:
    if PDFTOPPM is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm (poppler-utils) must be installed in CI")
        pytest.skip("needs pdftoppm from poppler-utils to render the PDF")
    source = tmp_path / "document.pdf"
    source.write_bytes(pdf)
    # A fontconfig without fonts: nothing on this machine can stand in for a font the PDF
    # lacks, as in a viewer without Japanese fonts. What renders comes from the PDF itself.
    config = tmp_path / "no-fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    result = subprocess.run(
        [PDFTOPPM, "-f", "1", "-l", "1", "-r", str(DPI), "-gray"]
        + ["-x", str(x), "-y", str(y), "-W", str(width), "-H", str(height), str(source)],
        capture_output=True,
        check=True,
        env={**os.environ, "FONTCONFIG_FILE": str(config)},
        timeout=60,
    )
    return result.stdout


def ink(pdf: bytes, where: Drawn, tmp_path: Path) -> int:
    """Dark pixels of the first page rendered, in the box where ``where`` was drawn."""
    page_height = float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.height)
    scale = DPI / 72
    width = min(len(where.text) * where.size, 500)  # a full-width character is one em wide
    image = _render(
        pdf,
        tmp_path,
        x=int(where.x * scale),
        y=int((page_height - where.y - where.size) * scale),
        width=max(int(width * scale), 1),
        height=int(where.size * 1.3 * scale),
    )
    # A binary PGM: "P5", width, height, maximum value, then one byte per pixel.
    magic, columns, rows = image.split(maxsplit=3)[:3]
    assert magic == b"P5"
    pixels = image[-int(columns) * int(rows) :]
    return sum(1 for value in pixels if value < 128)
