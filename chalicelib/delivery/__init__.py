"""The public read path for frontends: a page's render config, cacheable, with CORS for
the site's origins; every page of a site at once (its manifest and its bundle, for builds
and server-side renderers); a config by id; and previews of drafts for editors and
preview links.

Loaded with the first request that reads (PEP 562), with the stored items it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names

if TYPE_CHECKING:
    from chalicelib.delivery.pages import (
        config_response,
        impossible_page_response,
        impossible_site_response,
        page_response,
        preflight_response,
    )
    from chalicelib.delivery.preview import impossible_preview_response, preview_preflight, preview_response
    from chalicelib.delivery.site import SiteBundle, SiteManifest, bundle_response, manifest_response

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(
            (
                "config_response",
                "impossible_page_response",
                "impossible_site_response",
                "page_response",
                "preflight_response",
            ),
            "pages",
        ),
        **dict.fromkeys(("impossible_preview_response", "preview_preflight", "preview_response"), "preview"),
        **dict.fromkeys(("SiteBundle", "SiteManifest", "bundle_response", "manifest_response"), "site"),
    },
)

__all__ = [
    "SiteBundle",
    "SiteManifest",
    "bundle_response",
    "config_response",
    "impossible_page_response",
    "impossible_preview_response",
    "impossible_site_response",
    "manifest_response",
    "page_response",
    "preflight_response",
    "preview_preflight",
    "preview_response",
]
