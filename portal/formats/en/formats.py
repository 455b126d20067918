"""English dates as the rest of the portal writes them: ISO 8601, UTC (settings.TIME_ZONE).

Django's own English formats ("Dec. 3, 2026, 2:05 p.m.") would sit beside the dashboard's ISO days on
one page. These apply wherever Django formats a date for English: the admin's lists and detail pages,
the audit log, the `date` filter without an argument.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
FIRST_DAY_OF_WEEK = 1
