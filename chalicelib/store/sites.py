"""Sites: the item codec, reads, and the writes a site operation adds to its transaction."""

from __future__ import annotations

from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import is_site_slug
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import LastApplied, Site
from chalicelib.store.table import Item, SingleTable, Transaction


def site_item(site: Site, applied: Optional[LastApplied] = None) -> Item:
    item = {**keys.site_key(site.site), **keys.site_list_entry(site.site), **site.model_dump()}
    return {**item, **applied.attribute()} if applied else item


def site_from_item(item: Item) -> Site:
    return Site.model_validate(item)


def delivery_item(site: Site) -> Item:
    """What the public routes need of the site, beside its pages (`keys.site_pages_key`)."""
    return {
        **keys.site_pages_key(site.site),
        "allowedOrigins": site.allowedOrigins,
        "cacheMaxAge": site.cacheMaxAge,
        "version": site.version,
    }


class SiteStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, site: str) -> Optional[Site]:
        item = self._table.get(keys.site_key(site))
        return site_from_item(item) if item else None

    def list(self, limit: int, cursor: Optional[str]) -> Listing:
        listing = "sites"
        start = None
        if cursor:
            slug = decode_cursor(cursor, listing, is_site_slug)
            start = {**keys.site_list_entry(slug), **keys.site_key(slug)}
        items, more = self._table.query(Key(keys.GSI1_PK).eq(keys.SITES_LIST), limit, start, index=keys.GSI1)
        sites: List[Site] = [site_from_item(item) for item in items]
        return Listing(sites, encode_cursor(listing, sites[-1].site) if more else None)

    @staticmethod
    def add_put(
        transaction: Transaction, site: Site, previous_version: Optional[int], applied: Optional[LastApplied] = None
    ) -> None:
        """Creates the site once, or replaces it from the version the operation read (and so
        from the last applied operation it read); `applied` is kept on the item."""
        created = Attr(keys.PK).not_exists()
        condition = created if previous_version is None else Attr("version").eq(previous_version)
        transaction.put(site_item(site, applied), condition)
        # A copy of its origins and cache age that sorts with its pages (keys.site_pages_key).
        transaction.put(delivery_item(site))
