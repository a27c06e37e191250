"""`python -m iub_eligibility`: run the eligibility service (or `faststream run … --factory`)."""

import asyncio

from iub_eligibility.app import create_app

if __name__ == "__main__":
    asyncio.run(create_app().run())
