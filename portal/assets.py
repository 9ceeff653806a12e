"""Static files under content-hashed names, compressed once at start.

``url_for("static", filename="css/portal.css")`` writes ``/static/css/portal.<hash>.css``, the
first twelve hex digits of the file's SHA-256, computed once when the app starts. A deploy
that changes a file changes its name, so browsers may keep every hashed name for a year
(``immutable``) and still never show yesterday's CSS after a deploy. The plain name stays
reachable (bookmarks, the CI's wheel check) with a short lifetime.

CSS, JavaScript and SVG are gzipped once, in memory, and sent compressed to browsers that
accept it. ``portal assets build DIR`` writes the same hashed files with their ``.gz`` beside
them for nginx to serve from disk (``gzip_static``; docs/deploy.md, "Static files").
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flask import Flask, Response, abort, current_app, request, send_file

#: A year: what a hashed name holds never changes.
HASHED_MAX_AGE = 365 * 24 * 3600
#: A plain name may change with the next deploy.
PLAIN_MAX_AGE = 3600
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".json", ".txt", ".map"})
#: Below this, gzip's header costs more than it saves.
SMALLEST_COMPRESSED = 512
HASH_LENGTH = 12


@dataclass(frozen=True)
class Asset:
    path: Path
    hashed: str
    digest: str
    #: The file gzipped, when that is worth sending; None otherwise.
    gzipped: bytes | None


def hashed_name(name: str, digest: str) -> str:
    """css/portal.css → css/portal.<digest>.css (the digest before the last suffix)."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest[:HASH_LENGTH]}{path.suffix}"))


class Assets:
    """Every file of the static folder, by its plain and by its hashed name."""

    def __init__(self, folder: Path) -> None:
        self.by_name: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        if not folder.is_dir():
            return
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            name = path.relative_to(folder).as_posix()
            asset = Asset(path, hashed_name(name, digest), digest, _gzipped(path, data))
            self.by_name[name] = asset
            self.by_hashed[asset.hashed] = asset

    def url_name(self, name: str) -> str:
        asset = self.by_name.get(name)
        return asset.hashed if asset else name

    def build(self, target: Path) -> int:
        """Write every file under its hashed and its plain name, with ``.gz`` beside those
        worth compressing, for a web server to send from disk. Returns the files written."""
        written = 0
        for name, asset in self.by_name.items():
            for out_name in (asset.hashed, name):
                out = target / out_name
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(asset.path, out)
                written += 1
                if asset.gzipped is not None:
                    out.with_name(out.name + ".gz").write_bytes(asset.gzipped)
                    written += 1
        return written


def _gzipped(path: Path, data: bytes) -> bytes | None:
    if path.suffix not in COMPRESSIBLE or len(data) < SMALLEST_COMPRESSED:
        return None
    # mtime=0: the same file gives the same bytes on every node and every start.
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    return packed if len(packed) < len(data) else None


def _assets() -> Assets:
    return current_app.extensions["portal_assets"]


def serve(filename: str) -> Response:
    """The static view: a hashed name for a year, a plain one for an hour; gzip if accepted."""
    assets = _assets()
    asset = assets.by_hashed.get(filename)
    immutable = asset is not None
    asset = asset or assets.by_name.get(filename)
    if asset is None:
        abort(404)
    max_age = HASHED_MAX_AGE if immutable else PLAIN_MAX_AGE
    if asset.gzipped is not None and "gzip" in request.accept_encodings:
        mimetype, _ = mimetypes.guess_type(asset.path.name)
        response = Response(asset.gzipped, mimetype=mimetype or "application/octet-stream")
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(f"{asset.digest[:HASH_LENGTH]}-gz")
        response.make_conditional(request)
    else:
        response = send_file(
            asset.path, etag=asset.digest[:HASH_LENGTH], conditional=True, max_age=max_age
        )
    response.vary.add("Accept-Encoding")
    response.cache_control.no_cache = None
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if immutable:
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    assets = Assets(Path(app.static_folder or ""))
    app.extensions["portal_assets"] = assets

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = assets.url_name(values["filename"])

    app.view_functions["static"] = serve
