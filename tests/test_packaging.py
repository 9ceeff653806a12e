"""What ``pip install .`` installs: the wheel carries the files the portal reads at run time."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_font_the_pdfs_embed_and_its_licence(tmp_path: Path) -> None:
    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "portal/fonts/ipaexg.ttf",
        "portal/fonts/IPA_Font_License_Agreement_v1.0.txt",
        "portal/templates/payments/invoice.html",
    } <= names


def test_redis_replies_are_parsed_in_c() -> None:
    # Nearly every request reads from Redis (the generations, a kept page). Without hiredis, or
    # with one too old for it, redis-py falls back to its Python parser without a word.
    from redis._parsers import _HiredisParser
    from redis.connection import DefaultParser

    assert DefaultParser is _HiredisParser
