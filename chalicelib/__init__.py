"""Metadata Manager's Lambda code, by concern:

- `core`: the shared vocabulary (errors, AWS errors into domain errors, ids, time, field
  types, logs, stage settings);
- `store`: the single DynamoDB table, one store per entity;
- `writes`: how writes are accepted (the desks) and applied (the worker, operation types);
- `schemas`: settings schemas, and whether a config's settings fit its layout's;
- `access`: API tokens and scopes;
- `web`: the HTTP edge (views' wrapper, bodies, answers, error statuses, OpenAPI);
- `delivery`: the public read path for frontends, and previews;
- `editorial`: what editors read beyond stored items (diffs, what a release changes);
- `upkeep`: the scheduled backup check and the dead-letter redrive;
- `services`: the composition root that builds all of the above on first use.
"""
