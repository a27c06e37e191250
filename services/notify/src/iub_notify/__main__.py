"""`python -m iub_notify`: run the notify service (same as `faststream run iub_notify.app:create_app --factory`)."""

import asyncio
import sys

from iub_notify.app import create_app
from iub_runtime.signing import InsecureSecret

if __name__ == "__main__":
    try:
        app = create_app()
    except InsecureSecret as exc:
        print(f"iub notify: {exc}", file=sys.stderr)
        sys.exit(2)
    asyncio.run(app.run())
