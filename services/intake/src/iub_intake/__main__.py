"""`python -m iub_intake`: serve the intake API with uvicorn."""

import sys

import uvicorn

from iub_intake.app import create_api
from iub_intake.clients import ClientsConfigError
from iub_intake.settings import IntakeSettings

if __name__ == "__main__":
    settings = IntakeSettings()
    try:
        api = create_api(settings)
    except ClientsConfigError as exc:
        print(f"iub intake: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(api, host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)
