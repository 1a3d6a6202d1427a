"""Metadata Manager's Lambda code, by concern:

- `core`: the shared vocabulary (errors, ids, time, field types, logs, stage settings);
- `store`: the single DynamoDB table, one store per entity;
- `writes`: how writes are accepted (the desk) and applied (the worker, operation types);
- `access`: API tokens and scopes;
- `web`: the HTTP edge (views' wrapper, bodies, answers, error statuses, OpenAPI);
- `delivery`: the public read path for frontends;
- `upkeep`: the scheduled backup check and the dead-letter redrive;
- `services`: the composition root that builds all of the above on first use.
"""
