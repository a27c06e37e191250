"""`python -m iub_notify`: run the notify service (same as `faststream run iub_notify.app:create_app --factory`)."""

import asyncio

from iub_notify.app import create_app

if __name__ == "__main__":
    asyncio.run(create_app().run())
