"""Test support: a stream writer that records publishes (handler tests with TestRedisBroker)."""

from __future__ import annotations

from pydantic import BaseModel


class RecordingWriter:
    """Same interface as StreamWriter; keeps messages in memory and honours once-keys."""

    def __init__(self) -> None:
        self.published: list[tuple[str, BaseModel]] = []
        self._keys: set[str] = set()

    async def publish(self, stream: str, message: BaseModel, *, once_key: str | None = None) -> str | None:
        if once_key is not None:
            if once_key in self._keys:
                return None
            self._keys.add(once_key)
        self.published.append((stream, message))
        return f"{len(self.published)}-0"

    async def publish_many(self, items) -> list[str | None]:
        """Same as StreamWriter.publish_many."""
        return [await self.publish(stream, m, once_key=k) for stream, m, k in items]

    def on(self, stream: str) -> list[BaseModel]:
        """Messages published to one stream."""
        return [m for s, m in self.published if s == stream]
