"""The API side of schema writes: a schema is checked as a schema, then against the
site's configs of its layout, before `accept.Desk` enqueues it. Its dry run is the impact
report."""

from __future__ import annotations

from typing import Optional, Union

from pydantic.main import BaseModel

from chalicelib.core import (
    ImpactReport,
    NotFound,
    PreconditionFailed,
    SchemaBreaksPublished,
    ValidationFailed,
    if_match_holds,
    schema_etag,
)
from chalicelib.schemas import schema_problems
from chalicelib.store import LayoutSchema, Reads
from chalicelib.writes.accept import Answer, Desk, KeyUse, Submission
from chalicelib.writes.envelopes import OperationMeta
from chalicelib.writes.schemas import SchemaDelete, SchemaPut, impact, schema_resource


class SchemaDesk(Desk):
    def put_schema(
        self, site: str, layout: str, body: BaseModel, if_match: Optional[str], force: bool, submission: Submission
    ) -> Union[Answer, ImpactReport]:
        fields = body.model_dump(by_alias=True)
        key = KeyUse.of(submission, {**body.model_dump(mode="json", by_alias=True), "force": force})
        snapshot = self._read(Reads(site=site, schema=(site, layout)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.site is None:
            raise NotFound(f"no site '{site}'")
        expected = _precondition(snapshot.schema, if_match)
        problems = schema_problems(fields["schema"])
        if problems:
            raise ValidationFailed("the schema is not a JSON Schema 2020-12 document this service accepts", problems)
        # Forced, the schema is stored whatever it rejects: no need to look.
        if submission.dry_run or not force:
            report = impact(self._store.configs, site, layout, fields["schema"])
            if submission.dry_run:
                return report
            _refuse_breaking(report, layout)
        data = {"site": site, "layout": layout, **fields}
        envelope = SchemaPut.model_validate({"data": data, "meta": self._expecting(submission, key, expected)})
        return self._send(envelope, schema_resource(site, layout), key)

    def delete_schema(self, site: str, layout: str, if_match: Optional[str], submission: Submission) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._read(Reads(schema=(site, layout)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.schema is None:
            raise NotFound(f"layout '{layout}' of site '{site}' has no schema")
        expected = _precondition(snapshot.schema, if_match)
        data = {"site": site, "layout": layout}
        envelope = SchemaDelete.model_validate({"data": data, "meta": self._expecting(submission, key, expected)})
        return self._send(envelope, schema_resource(site, layout), key, submission.dry_run)

    def _expecting(
        self, submission: Submission, key: Optional[KeyUse], schema: Optional[LayoutSchema]
    ) -> OperationMeta:
        """The operation's meta, naming the schema If-Match named (if any): its version, and
        which schema of that name it is (its createdAt), since a schema deleted and set
        again starts at version 1 again."""
        if schema is None:
            return self._meta(submission, key)
        return self._meta(submission, key, expected=schema.version, expected_created=schema.createdAt)


def _refuse_breaking(report: ImpactReport, layout: str) -> None:
    published = [config for config in report.rejected if config.published]
    if published:
        raise SchemaBreaksPublished(
            f"the schema would reject {len(published)} published config(s) of layout '{layout}'; "
            "fix them first, or send the schema again with ?force=true",
            [
                {
                    "field": f"configs/{config.id}",
                    "message": f"page '{config.page}', version {config.version}: {config.errors[0]['message']}",
                    "type": "SchemaBreaksPublished",
                    **config.model_dump(mode="json"),
                }
                for config in published
            ],
        )


def _precondition(schema: Optional[LayoutSchema], if_match: Optional[str]) -> Optional[LayoutSchema]:
    """The schema If-Match names, when it names the current one; else 412."""
    if if_match is None:
        return None
    if schema is None:
        raise PreconditionFailed("If-Match names a schema, but this layout has none")
    current = schema_etag(schema.site, schema.layout, schema.version, schema.createdAt)
    if not if_match_holds(if_match, current):
        raise PreconditionFailed(f"If-Match does not match the current schema: the ETag is now {current}")
    return schema
