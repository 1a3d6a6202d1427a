"""The public read path for frontends: one read, cacheable answers, CORS per site."""

from __future__ import annotations

from typing import Dict, List, Optional, Protocol

from chalice.app import Response

from chalicelib.core import NotFound, etag, if_none_match_holds, is_page_slug, is_site_slug
from chalicelib.store import ConfigState, PageRender, Reads, Site, SnapshotReader
from chalicelib.web import empty_response, error_response, json_response

# How long a CDN may serve a page's answer stale while it fetches a fresh one, or while
# the API is failing: a page keeps rendering through a short outage.
STALE_WHILE_REVALIDATE = 60
STALE_IF_ERROR = 86_400
NOT_FOUND_MAX_AGE = 10
PREFLIGHT_MAX_AGE = 600


class Origins(Protocol):
    """A site, or what the public routes keep of it beside its pages."""

    @property
    def allowedOrigins(self) -> List[str]: ...


def cors_headers(site: Optional[Origins], origin: Optional[str]) -> Dict[str, str]:
    """A grant only for an origin the site lists, matched exactly (scheme and port too)."""
    headers = {"Vary": "Origin"}
    if site is not None and origin and origin in site.allowedOrigins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "ETag, X-Request-Id"
    return headers


def cache_headers(max_age: int) -> Dict[str, str]:
    return {
        "Cache-Control": f"public, max-age={max_age}, "
        f"stale-while-revalidate={STALE_WHILE_REVALIDATE}, stale-if-error={STALE_IF_ERROR}"
    }


def page_response(
    snapshots: SnapshotReader,
    site: str,
    page: str,
    origin: Optional[str],
    if_none_match: Optional[str],
    request_id: str,
) -> Response:
    if not (is_site_slug(site) and is_page_slug(page)):
        return impossible_page_response(site, page, request_id)
    # A strongly consistent read (twice the read units of an eventual one): a change
    # event leaves once its change is committed, and a receiver that fetches the page at
    # once must get what the event names (docs/change-events.md).
    snapshot = snapshots.read(Reads(site=site, page=(site, page)), consistent=True)
    cors = cors_headers(snapshot.site, origin)
    # What the page serves: its published version, never a draft.
    config = snapshot.page_state.published() if snapshot.page_state else None
    if snapshot.site is None or config is None:
        missing = f"no site '{site}'" if snapshot.site is None else f"site '{site}' has no page '{page}'"
        return not_found(missing, cors, request_id)
    headers = {**cors, **cache_headers(snapshot.site.cacheMaxAge), "ETag": etag(config.id, config.version)}
    if if_none_match and if_none_match_holds(if_none_match, headers["ETag"]):
        return empty_response(304, headers)
    return json_response(PageRender.model_validate(config.model_dump()), headers=headers)


def impossible_page_response(site: str, page: str, request_id: str) -> Response:
    """A site or page slug that cannot exist: answered like any unknown page, without a
    read, to GET and to a preflight alike."""
    return not_found(f"no page '{page}' of site '{site}'", {"Vary": "Origin"}, request_id)


def impossible_site_response(site: str, request_id: str) -> Response:
    """A site slug that cannot exist, on the routes of a whole site: as an unknown site."""
    return not_found(f"no site '{site}'", {"Vary": "Origin"}, request_id)


def not_found(message: str, cors: Dict[str, str], request_id: str) -> Response:
    # Briefly, and never stale: a page created a moment later must show up soon.
    headers = {**cors, "Cache-Control": f"public, max-age={NOT_FOUND_MAX_AGE}"}
    return error_response(NotFound(message), request_id, headers)


def preflight_response(site: Optional[Site], origin: Optional[str]) -> Response:
    headers = cors_headers(site, origin)
    if "Access-Control-Allow-Origin" in headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": "GET, OPTIONS",
                "Access-Control-Allow-Headers": "If-None-Match",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
            }
        )
    return empty_response(204, headers)


def config_response(
    state: Optional[ConfigState], config_id: str, if_none_match: Optional[str], request_id: str, draft: bool = False
) -> Response:
    """The config by id: what its page serves (the published version), or with `draft`
    its latest version; the ETag names that version."""
    if state is None:
        return error_response(NotFound(f"no config '{config_id}'"), request_id)
    config = state.draft if draft else state.published()
    if config is None:
        message = f"config '{config_id}' is not published; its latest version is at /metadata/{config_id}/draft"
        return error_response(NotFound(message), request_id)
    # Clients may keep it, but must ask again each time: a 304 when it has not changed.
    headers = {"ETag": etag(config.id, config.version), "Cache-Control": "no-cache"}
    if if_none_match and if_none_match_holds(if_none_match, headers["ETag"]):
        return empty_response(304, headers)
    return json_response(config, headers=headers)
