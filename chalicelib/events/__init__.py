"""Change events: what an applied change tells the world once it is readable, sent to
Amazon EventBridge from the outbox its operation wrote in the change's transaction."""

from __future__ import annotations

from chalicelib.events.sender import EventBridgeSink, EventSender, Sink, detail_type

__all__ = ["EventBridgeSink", "EventSender", "Sink", "detail_type"]
