"""`python -m iub_audit`: run the audit service (same as `faststream run iub_audit.app:create_app --factory`)."""

import asyncio

from iub_audit.app import create_app

if __name__ == "__main__":
    asyncio.run(create_app().run())
