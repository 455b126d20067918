"""CSV exports that a spreadsheet opens safely, whatever separator it splits them on."""

import csv
import re

from django.http import HttpResponse

# A spreadsheet reads a cell as a formula when it starts with one of = + - @ (or tab, CR: OWASP's list).
# A cell may start where the value starts, or after any separator the spreadsheet may split on (comma;
# semicolon, the default in many European locales; tab) or a line break; blanks before the character
# do not stop every spreadsheet. An apostrophe before it makes the cell text.
_CELL_STARTING_A_FORMULA = re.compile(r"(^|[,;\t\r\n])( *)(?=[=+\-@\t\r])")


def safe_cell(value) -> object:
    """A value that no spreadsheet takes for a formula (client-sent strings: error codes, partner names)."""
    if isinstance(value, str):
        return _CELL_STARTING_A_FORMULA.sub(r"\1\2'", value)
    return value


class _Echo:
    def write(self, value):
        return value


def csv_attachment(rows, *, filename: str) -> HttpResponse:
    """The rows as a CSV download: every cell quoted (a separator inside a value stays inside its cell)
    and made formula-free."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    body = "".join(writer.writerow([safe_cell(cell) for cell in row]) for row in rows)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
