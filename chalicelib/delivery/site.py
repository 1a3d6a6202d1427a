"""A site's pages at once, for static builds and server-side renderers: the manifest (each
published page's version, ETag and updatedAt) and the bundle (each one's render config,
as the page route serves it). One Query each; the page route's CORS and cache headers;
`304` to a current `If-None-Match`. Both name the same versions, so they share an ETag:
a client holding a bundle revalidates it with the manifest."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from chalice.app import Response

from chalicelib.core import Model, Timestamp, etag, if_none_match_holds, is_site_slug, pages_etag
from chalicelib.delivery.pages import cache_headers, cors_headers, impossible_site_response, not_found
from chalicelib.store import PageRender, PublishedPages, PublishedReader, RenderConfig
from chalicelib.web import empty_response, json_response


class ManifestEntry(Model):
    """A page the site serves: the version, with its ETag (the page route's) and when it
    was written."""

    page: str
    version: int
    etag: str
    updatedAt: Timestamp


class SiteManifest(Model):
    """Every page the site serves, by page. A site whose pages' items hold more than 1 MB
    is answered in parts: `nextCursor` (null on the last) asks for the next."""

    site: str
    pages: List[ManifestEntry]
    nextCursor: Optional[str]


class BundleEntry(Model):
    """A page the site serves: its render config exactly as the page route answers it,
    and that answer's ETag."""

    page: str
    etag: str
    config: PageRender


class SiteBundle(Model):
    """Every page's render config, by page; `nextCursor` as in the manifest."""

    site: str
    pages: List[BundleEntry]
    nextCursor: Optional[str]


def _manifest(found: PublishedPages) -> Dict[str, Any]:
    entries = [
        ManifestEntry(page=page.page, version=page.version, etag=etag(page.id, page.version), updatedAt=page.updatedAt)
        for page in found.pages
    ]
    return SiteManifest(site=found.site, pages=entries, nextCursor=found.next_cursor).model_dump(mode="json")


def _bundle(found: PublishedPages) -> Dict[str, Any]:
    entries = [
        BundleEntry(page=page.page, etag=etag(page.id, page.version), config=_render(page)) for page in found.pages
    ]
    return SiteBundle(site=found.site, pages=entries, nextCursor=found.next_cursor).model_dump(mode="json")


def _render(config: RenderConfig) -> PageRender:
    return PageRender.model_validate(config.model_dump())


def manifest_response(
    reader: PublishedReader,
    site: str,
    cursor: Optional[str],
    origin: Optional[str],
    if_none_match: Optional[str],
    request_id: str,
) -> Response:
    return _answer(_manifest, reader, site, cursor, origin, if_none_match, request_id)


def bundle_response(
    reader: PublishedReader,
    site: str,
    cursor: Optional[str],
    origin: Optional[str],
    if_none_match: Optional[str],
    request_id: str,
) -> Response:
    return _answer(_bundle, reader, site, cursor, origin, if_none_match, request_id)


def _answer(
    body: Callable[[PublishedPages], Dict[str, Any]],
    reader: PublishedReader,
    site: str,
    cursor: Optional[str],
    origin: Optional[str],
    if_none_match: Optional[str],
    request_id: str,
) -> Response:
    if not is_site_slug(site):
        return impossible_site_response(site, request_id)
    found = reader.read(site, cursor)
    cors = cors_headers(found.delivery, origin)
    if found.delivery is None:
        return not_found(f"no site '{site}'", cors, request_id)
    tag = pages_etag((page.page, etag(page.id, page.version)) for page in found.pages)
    headers = {**cors, **cache_headers(found.delivery.cacheMaxAge), "ETag": tag}
    if if_none_match and if_none_match_holds(if_none_match, tag):
        return empty_response(304, headers)
    return json_response(body(found), headers=headers)
