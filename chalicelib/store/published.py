"""Every page a site serves, for builds and server-side renderers: one `Query` reads the
site's delivery settings (their item sorts just before its pages) and its pages' items,
up to 1 MB of them a call, strongly consistent like the page route; a cursor goes on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from boto3.dynamodb.conditions import Key

from chalicelib.core import is_page_slug
from chalicelib.store import keys
from chalicelib.store.configs import state_from_item
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.models import RenderConfig
from chalicelib.store.table import Item, SingleTable


@dataclass(frozen=True)
class SiteDelivery:
    """What the public routes need of a site: the origins that may fetch its pages, and how
    long caches may keep them."""

    allowedOrigins: List[str]
    cacheMaxAge: int

    @classmethod
    def of_item(cls, item: Item) -> SiteDelivery:
        """From the site's item, or the copy beside its pages."""
        return cls([str(origin) for origin in item.get("allowedOrigins") or []], int(item["cacheMaxAge"]))


@dataclass(frozen=True)
class PublishedPages:
    """One part of a site's pages, by page: each as its page serves it (the published
    version; pages that serve nothing are left out)."""

    site: str
    # None: there is no such site.
    delivery: Optional[SiteDelivery]
    pages: List[RenderConfig]
    next_cursor: Optional[str]


class PublishedReader:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def read(self, site: str, cursor: Optional[str]) -> PublishedPages:
        """One Query (up to 1 MB of page items); a part after the first, or a site last
        written before its delivery settings were kept beside its pages, also reads the
        site's item (one GetItem more)."""
        listing = f"published:{site}"
        start = keys.page_key(site, decode_cursor(cursor, listing, is_page_slug)) if cursor else None
        first, last = keys.site_pages_range()
        condition = Key(keys.PK).eq(keys.site_pk(site)) & Key(keys.SK).between(first, last)
        items, more = self._table.query_once(condition, start, consistent=True)
        delivery = None
        pages: List[RenderConfig] = []
        for item in items:
            if item[keys.SK] == keys.SITE_PAGES_SK:
                delivery = SiteDelivery.of_item(item)
                continue
            served = state_from_item(item).published()
            if served is not None:
                pages.append(served)
        if delivery is None:
            found = self._table.get(keys.site_key(site), consistent=True)
            delivery = SiteDelivery.of_item(found) if found else None
        # The 1 MB ends on a page: never on the delivery settings, which come first.
        next_cursor = encode_cursor(listing, keys.page_of(str(more[keys.SK]))) if more else None
        return PublishedPages(site, delivery, pages, next_cursor)
