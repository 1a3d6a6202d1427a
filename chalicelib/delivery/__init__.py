"""The public read path for frontends: a page's render config, cacheable, with CORS for
the site's origins; a config by id; and previews of drafts for editors and preview links."""

from chalicelib.delivery.pages import config_response, impossible_page_response, page_response, preflight_response
from chalicelib.delivery.preview import impossible_preview_response, preview_preflight, preview_response

__all__ = [
    "config_response",
    "impossible_page_response",
    "impossible_preview_response",
    "page_response",
    "preflight_response",
    "preview_preflight",
    "preview_response",
]
