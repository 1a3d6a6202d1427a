"""The preview route: a page's draft (or the version a preview link names) for editors
and for whoever holds a preview link, never cached and never indexed."""

from __future__ import annotations

from typing import Dict, Optional

from chalice.app import Response

from chalicelib.access import authenticate, scope_covers
from chalicelib.core import DomainError, Forbidden, NotFound, Unauthorized, ids, is_page_slug, is_site_slug
from chalicelib.delivery.pages import cors_headers
from chalicelib.store import ConfigState, PageRender, PreviewLink, Reads, Store
from chalicelib.web import error_response, json_response

PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def preview_response(
    store: Store,
    site: str,
    page: str,
    authorization: Optional[str],
    token: Optional[str],
    origin: Optional[str],
    request_id: str,
) -> Response:
    """With `?token=` (a preview link's) or a bearer token of read scope or more."""
    try:
        link = _admitted(store, authorization, token)
    except DomainError as error:
        return error_response(error, request_id, {**PRIVATE, "Vary": "Origin"})
    if not (is_site_slug(site) and is_page_slug(page)):
        return impossible_preview_response(site, page, request_id)
    snapshot = store.snapshots.read(Reads(site=site, page=(site, page)))
    headers = {**cors_headers(snapshot.site, origin), **PRIVATE}
    try:
        state = snapshot.page_state
        if snapshot.site is None or state is None:
            raise NotFound(f"site '{site}' has no page '{page}'")
        if link is not None and (link.site, link.page) != (site, page):
            raise Forbidden(f"this preview link opens page '{link.page}' of site '{link.site}'")
        return json_response(_shown(store, state, link), headers=headers)
    except DomainError as error:
        return error_response(error, request_id, headers)


def impossible_preview_response(site: str, page: str, request_id: str) -> Response:
    """A site or page slug that cannot exist: 404 without a read."""
    return error_response(NotFound(f"no page '{page}' of site '{site}'"), request_id, {**PRIVATE, "Vary": "Origin"})


def _admitted(store: Store, authorization: Optional[str], token: Optional[str]) -> Optional[PreviewLink]:
    """The preview link the request holds (None for a bearer token); raises when neither admits it."""
    if token is not None:
        link = store.previews.by_token(ids.token_hash(token)) if len(token) <= 200 else None
        if link is None:
            raise Unauthorized("this preview link is unknown, expired or revoked")
        return link
    if not authorization:
        raise Unauthorized("a preview needs a preview link's ?token= or a bearer token with the 'read' scope")
    principal = authenticate(authorization, store.tokens)
    if not principal.scope:
        raise Unauthorized(f"a valid bearer token is required: {principal.problem}")
    if not scope_covers(principal.scope, "read"):
        raise Forbidden("previews need a token with the 'read' scope")
    return None


def _shown(store: Store, state: ConfigState, link: Optional[PreviewLink]) -> PageRender:
    """The latest version, or the one the link names."""
    shown = state.draft
    if link is not None and link.configId != shown.id:
        raise NotFound("the config this preview link opens is gone (deleted; its page has another config now)")
    if link is not None and link.version is not None and link.version != shown.version:
        version = store.configs.version(shown.id, link.version)
        content = version.content() if version else {}
        if version is None or not content:
            raise NotFound(f"version {link.version} of this page's config is gone")
        shown = shown.model_copy(update={**content, "version": version.version, "updatedAt": version.updatedAt})
    return PageRender.model_validate(shown.model_dump())


def preview_preflight(store: Store, site: str, origin: Optional[str]) -> Dict[str, str]:
    """CORS for the preview route: the site's origins, with Authorization allowed."""
    found = store.sites.get(site) if is_site_slug(site) else None
    headers = {**cors_headers(found, origin), **PRIVATE}
    if "Access-Control-Allow-Origin" in headers:
        headers.update(
            {"Access-Control-Allow-Methods": "GET, OPTIONS", "Access-Control-Allow-Headers": "Authorization"}
        )
    return headers
