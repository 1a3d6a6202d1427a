"""Releases: one item each in its site's partition (listed with the site), and, while one
is scheduled, an entry in GSI1 that the scheduler queries for the releases that are due."""

from __future__ import annotations

from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import is_release_id
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import Release
from chalicelib.store.table import Item, SingleTable, Transaction

# Releases queried per scheduler run at most (the rest wait for the next minute).
DUE_PER_RUN = 100


def release_item(release: Release) -> Item:
    item = {**keys.release_key(release.site, release.id), **release.model_dump(exclude_none=True)}
    if release.status == "scheduled" and release.publishAt:
        item.update(keys.release_due_entry(release.publishAt, release.site, release.id))
    return item


def release_from_item(item: Item) -> Release:
    return Release.model_validate(item)


class ReleaseStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, site: str, release_id: str) -> Optional[Release]:
        item = self._table.get(keys.release_key(site, release_id), consistent=True)
        return release_from_item(item) if item else None

    def list(self, site: str, status: Optional[str], limit: int, cursor: Optional[str]) -> Listing:
        """A site's releases, newest first (ids sort by creation time); `status` narrows it."""
        listing = f"releases:{site}:{status or ''}"
        start = None
        if cursor:
            position = decode_cursor(cursor, listing, is_release_id)
            start = keys.release_key(site, position)
        condition = Key(keys.PK).eq(keys.site_pk(site)) & Key(keys.SK).begins_with(keys.RELEASE_PREFIX)
        found: List[Release] = []
        more = True
        while more and len(found) < limit:
            items, more = self._table.query(condition, limit, start, newest_first=True)
            releases = [release_from_item(item) for item in items]
            found.extend(release for release in releases if status is None or release.status == status)
            if items:
                start = {keys.PK: items[-1][keys.PK], keys.SK: items[-1][keys.SK]}
        page = found[:limit]
        has_more = more or len(found) > limit
        return Listing(page, encode_cursor(listing, page[-1].id) if has_more and page else None)

    def due(self, now: str) -> List[Release]:
        """Scheduled releases whose `publishAt` has come, oldest first."""
        condition = Key(keys.GSI1_PK).eq(keys.RELEASES_DUE) & Key(keys.GSI1_SK).lte(f"{now}#~")
        items, _ = self._table.query(condition, DUE_PER_RUN, index=keys.GSI1)
        return [release_from_item(item) for item in items]

    @staticmethod
    def add_put(transaction: Transaction, release: Release, previous_version: Optional[int]) -> None:
        """Creates the release, or replaces it from the version the operation read."""
        created = Attr(keys.PK).not_exists()
        condition = created if previous_version is None else Attr("version").eq(previous_version)
        transaction.put(release_item(release), condition)
