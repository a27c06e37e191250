"""The Swedish calendar day of an instant: ages, versions in force and 'nästkommande vardag' use it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SWEDEN = ZoneInfo("Europe/Stockholm")


def request_day(at: dt.datetime) -> dt.date:
    """The calendar day in Sweden of an aware instant."""
    return at.astimezone(SWEDEN).date()
