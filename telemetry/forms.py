"""The period of days that the dashboard, its CSV export and the counts API read: one form for all three."""

import datetime as dt
import re

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext, gettext_noop, pgettext_lazy

DEFAULT_DAYS = 30
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The messages in English, marked for the catalogue and translated where they are raised (gettext):
# callers and tests compare them as plain strings. The counts API runs in English, so it reads them as
# they are here. PERIOD_TOO_LONG is only ever raised with hundreds of days, always a plural.
PERIOD_REVERSED = gettext_noop("The start of the period must not be after its end.")
PERIOD_OUT_OF_RANGE = gettext_noop("The period must lie between the years 1 and 9999.")
PERIOD_TOO_LONG = gettext_noop("The period can be at most {days} days.")


class DayField(forms.DateField):
    """A day written YYYY-MM-DD, nothing else (no time, no other spelling)."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        try:
            if not DAY_RE.match(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class PeriodForm(forms.Form):
    """`from` and `to`, both days and both inclusive. Without `to`, the period ends today; without
    `from`, it is the DEFAULT_DAYS days up to `to`. `max_days` bounds its length where given.

    The cleaned period is `cleaned_data["from"]` and `cleaned_data["to"]`. Errors carry codes
    (`invalid` on a field; `reversed`, `too_long`, `out_of_range` on the form) for callers that word
    them their own way (the counts API names its query parameters).
    """

    def __init__(self, data, *, today: dt.date, max_days: int | None = None):
        super().__init__(data)
        self.today = today
        self.max_days = max_days
        # `from` is a Python keyword, so the fields are added by name.
        self.fields["from"] = DayField(required=False, label=pgettext_lazy("start of a period", "From"))
        self.fields["to"] = DayField(required=False, label=pgettext_lazy("end of a period", "To"))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        date_to = cleaned.get("to") or self.today
        try:
            date_from = cleaned.get("from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:
            # The default start, DEFAULT_DAYS before a `to` early in year 1, is before the calendar begins.
            raise forms.ValidationError(gettext(PERIOD_OUT_OF_RANGE), code="out_of_range") from None
        if date_from > date_to:
            raise forms.ValidationError(gettext(PERIOD_REVERSED), code="reversed")
        if self.max_days is not None and (date_to - date_from).days + 1 > self.max_days:
            raise forms.ValidationError(gettext(PERIOD_TOO_LONG).format(days=self.max_days), code="too_long")
        cleaned["from"], cleaned["to"] = date_from, date_to
        return cleaned

    def first_error(self) -> tuple[str, str | None, str]:
        """(code, field or None for the whole form, message) of the first error."""
        for name, errors in self.errors.as_data().items():
            error = errors[0]
            return error.code or "invalid", None if name == NON_FIELD_ERRORS else name, error.messages[0]
        raise ValueError("the form has no error")
