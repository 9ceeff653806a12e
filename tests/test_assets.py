"""Static files: hashed names kept for a year, gzip when accepted, plain names still work."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from portal.assets import Assets

STATIC = Path(__file__).resolve().parents[1] / "static"


def _stylesheet(client: FlaskClient) -> str:
    html = client.get("/partners").get_data(as_text=True)
    found = re.search(
        r'<link rel="stylesheet" href="(/static/css/portal\.([0-9a-f]{12})\.css)">', html
    )
    assert found, "the page does not link the stylesheet by a hashed name"
    return found[1]


def test_pages_link_the_stylesheet_by_a_name_kept_for_a_year(client: FlaskClient) -> None:
    url = _stylesheet(client)

    response = client.get(url)

    assert response.status_code == 200
    assert response.data == (STATIC / "css/portal.css").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    response.close()


def test_the_stylesheet_is_gzipped_for_browsers_that_accept_it(client: FlaskClient) -> None:
    url = _stylesheet(client)

    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})

    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == (STATIC / "css/portal.css").read_bytes()
    assert len(response.data) < (STATIC / "css/portal.css").stat().st_size / 3
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_plain_name_still_answers_for_an_hour(client: FlaskClient) -> None:
    response = client.get("/static/css/portal.css")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert "Content-Encoding" not in response.headers
    response.close()


def test_an_unknown_or_stale_hashed_name_is_not_found(client: FlaskClient) -> None:
    assert client.get("/static/css/portal.000000000000.css").status_code == 404


def test_a_changed_file_gets_a_new_name(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "site.css"
    sheet.write_text("body { color: black; }")
    before = Assets(tmp_path).url_name("css/site.css")
    sheet.write_text("body { color: navy; }")
    after = Assets(tmp_path).url_name("css/site.css")

    assert before != after
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", after)
    assert Assets(tmp_path).url_name("css/missing.css") == "css/missing.css"


def test_assets_build_writes_hashed_and_gzipped_files_for_nginx(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["assets", "build", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    hashed = app.extensions["portal_assets"].url_name("css/portal.css")
    out = tmp_path / "out"
    assert (out / hashed).read_bytes() == (STATIC / "css/portal.css").read_bytes()
    assert gzip.decompress((out / f"{hashed}.gz").read_bytes()) == (out / hashed).read_bytes()
    assert (out / "css/portal.css").is_file()
