"""The public read path for frontends: a page's render config, cacheable, with CORS for
the site's origins; a config by id; and previews of drafts for editors and preview links.

Loaded with the first request that reads (PEP 562), with the stored items it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names

if TYPE_CHECKING:
    from chalicelib.delivery.pages import config_response, impossible_page_response, page_response, preflight_response
    from chalicelib.delivery.preview import impossible_preview_response, preview_preflight, preview_response

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(
            ("config_response", "impossible_page_response", "page_response", "preflight_response"), "pages"
        ),
        **dict.fromkeys(("impossible_preview_response", "preview_preflight", "preview_response"), "preview"),
    },
)

__all__ = [
    "config_response",
    "impossible_page_response",
    "impossible_preview_response",
    "page_response",
    "preflight_response",
    "preview_preflight",
    "preview_response",
]
