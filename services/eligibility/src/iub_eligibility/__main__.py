"""`python -m iub_eligibility`: run the eligibility service (same as `faststream run iub_eligibility.app:create_app --factory`)."""

import asyncio

from iub_eligibility.app import create_app

if __name__ == "__main__":
    asyncio.run(create_app().run())
