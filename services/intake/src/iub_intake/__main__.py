"""`python -m iub_intake`: serve the intake API with uvicorn."""

import uvicorn

from iub_intake.app import create_api
from iub_intake.settings import IntakeSettings

if __name__ == "__main__":
    settings = IntakeSettings()
    uvicorn.run(create_api(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)
