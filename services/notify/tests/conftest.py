"""Fixtures of the notify tests: the real catalogue, the packaged templates, helper modules on the path."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # notify_samples, notify_receiver (unique names: no clash with other packages)

from redis.asyncio import Redis  # noqa: E402

from iub_contracts.catalog_loader import Catalog, load_catalog  # noqa: E402
from iub_notify.texts import Templates  # noqa: E402

CATALOG_DIR = HERE.parents[2] / "catalog"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The four real catalogue files."""
    return load_catalog(CATALOG_DIR)


@pytest.fixture(scope="session")
def templates() -> Templates:
    """The packaged, reviewed templates."""
    return Templates()


@pytest.fixture
async def redis(clean_redis):
    """An async client on the private, flushed test Redis."""
    client = Redis.from_url(clean_redis)
    yield client
    await client.aclose()


@pytest.fixture
async def http():
    """An HTTP client for the delivery adapters."""
    async with httpx.AsyncClient() as client:
        yield client
