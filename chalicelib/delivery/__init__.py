"""The public read path for frontends: a page's render config, cacheable, with CORS for
the site's origins; and a config by id."""

from chalicelib.delivery.pages import config_response, impossible_page_response, page_response, preflight_response

__all__ = ["config_response", "impossible_page_response", "page_response", "preflight_response"]
