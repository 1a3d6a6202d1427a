"""The console: the admin web application served at `/console` from the API itself (same
origin), built from `console/` in the repository into `assets/` (`make console`).

This package only serves what the build made: the HTML page, with a strict
Content-Security-Policy, and the content-hashed scripts and styles it names. app.py
imports it inside the console's views, never at cold start."""

from chalicelib.console.serving import (
    ASSET_CACHE_CONTROL,
    ASSET_PATTERN,
    CONTENT_SECURITY_POLICY,
    HTML_CACHE_CONTROL,
    Built,
    asset_response,
    built,
    page_html,
    page_response,
)

__all__ = [
    "ASSET_CACHE_CONTROL",
    "ASSET_PATTERN",
    "CONTENT_SECURITY_POLICY",
    "HTML_CACHE_CONTROL",
    "Built",
    "asset_response",
    "built",
    "page_html",
    "page_response",
]
