"""Answers for the console's page and its assets, from what `make console` built.

The build (`console/build.mjs`) writes each asset under a name that holds a hash of its
content, and `assets/manifest.json`, which names the page's script and style. The page
(HTML, revalidated every time) names the current assets; an asset, once named, never
changes, so browsers and CDNs keep it for a year without asking again.

Every path is relative to where the page is served: deployed, the API's stage prefix
(`/api/console`) comes before it, and the page's own links and API calls must keep it."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Dict, Mapping, NamedTuple, Optional

from chalice.app import Response

from chalicelib.core import DependencyUnavailable, NotFound, if_none_match_holds

ASSETS = Path(__file__).resolve().parent / "assets"
MANIFEST = "manifest.json"

# Only what the app itself serves; no inline script or style, no framing, no plugins. The
# editor's styles are constructed stylesheets (CSSOM), which `style-src 'self'` allows.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HTML_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
# The security headers of every console answer.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}
MEDIA_TYPES: Mapping[str, str] = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# What the build names an asset: its entry's name, a dash, esbuild's content hash.
ASSET_PATTERN = r"^[a-z0-9-]{1,40}-[A-Z0-9]{8}\.(js|css)$"
ASSET_NAME = re.compile(ASSET_PATTERN)


class Built(NamedTuple):
    """What one build made: the page's script and style, and every asset by name."""

    script: str
    style: str
    assets: Mapping[str, str]  # name -> its text

    @property
    def page(self) -> str:
        return page_html(self.script, self.style)

    @property
    def page_etag(self) -> str:
        return '"' + hashlib.sha256(self.page.encode()).hexdigest()[:32] + '"'


@functools.cache
def built(folder: Path = ASSETS) -> Built:
    """The build in `folder`, read once per process (a Lambda's package never changes)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        script, style = str(manifest["script"]), str(manifest["style"])
        assets = {
            path.name: path.read_text(encoding="utf-8")
            for path in folder.iterdir()
            if ASSET_NAME.match(path.name) is not None
        }
    except (OSError, ValueError, KeyError) as exc:
        raise DependencyUnavailable(
            f"the console is not built ({exc.__class__.__name__}): run `make console` (`make run` and "
            "`make package` do)"
        ) from exc
    if script not in assets or style not in assets:
        raise DependencyUnavailable("the console's build is incomplete: run `make console` again")
    return Built(script, style, assets)


def page_html(script: str, style: str) -> str:
    """The console's HTML page, naming its built script and stylesheet."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Metadata Manager console</title>
<link rel="stylesheet" href="console/assets/{html.escape(style)}">
<script type="module" src="console/assets/{html.escape(script)}"></script>
</head>
<body>
<noscript>The console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
"""


def page_response(if_none_match: Optional[str], folder: Path = ASSETS) -> Response:
    """The console's HTML: revalidated on every load, so a new build is picked up at once."""
    build = built(folder)
    headers: Dict[str, str] = {**SECURITY_HEADERS, "Cache-Control": HTML_CACHE_CONTROL, "ETag": build.page_etag}
    if if_none_match and if_none_match_holds(if_none_match, build.page_etag):
        return Response(body="", status_code=304, headers={**headers})
    return Response(body=build.page, status_code=200, headers={**headers, "Content-Type": "text/html; charset=utf-8"})


def asset_response(name: str, if_none_match: Optional[str], folder: Path = ASSETS) -> Response:
    """One built asset, kept for a year: its name changes whenever its content does."""
    build = built(folder)
    text = build.assets.get(name) if ASSET_NAME.match(name) else None
    if text is None:
        raise NotFound(f"the console has no asset '{name}'")
    etag = '"' + name.rsplit(".", 1)[0].rsplit("-", 1)[1] + '"'
    headers: Dict[str, str] = {**SECURITY_HEADERS, "Cache-Control": ASSET_CACHE_CONTROL, "ETag": etag}
    if if_none_match and if_none_match_holds(if_none_match, etag):
        return Response(body="", status_code=304, headers={**headers})
    media = MEDIA_TYPES[name[name.rindex(".") :]]
    return Response(body=text, status_code=200, headers={**headers, "Content-Type": media})
