"""The shared shape of the portal's management commands (commands.md).

A command parses its arguments, resolves the tenant and calls one service. A user's mistake (a
`PortalError`, an unknown tenant, a malformed boolean, a bad argument) ends the command with one line
on stderr and a non-zero exit, never a traceback, and nothing changed: the services write nothing
before they have validated their input, and each runs in one transaction.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, OperationalError

from tenants.models import Tenant
from tenants.selectors import tenant_get_by_slug
from tenants.services import TENANT_MISSING, Actor, PortalError

TRUE_WORDS = frozenset({"true", "$true"})
FALSE_WORDS = frozenset({"false", "$false"})
BOOLEAN_INVALID = "{value!r} is not a boolean for {option}: use true or false (or '$True' / '$False', quoted)."
# Only the exception's class: its message may name the host, the port or the user of the database.
DATABASE_UNREACHABLE = "The database cannot be reached: {error}."
DATABASE_FAILED = "The database refused the command: {error}."


def parse_bool(value: str | bool, *, option: str) -> bool:
    """true/false in any case, and PowerShell's $True/$False, which administrators type by habit."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise PortalError(BOOLEAN_INVALID.format(value=value, option=option))


def format_list(rows: list[dict[str, object]]) -> str:
    """PowerShell's Format-List: `Name : value`, names padded to the longest, a blank line between objects."""
    blocks = []
    for row in rows:
        width = max(len(name) for name in row)
        # Python prints booleans as PowerShell does (True, False), so str() is the format.
        blocks.append("\n".join(f"{name:<{width}} : {value}" for name, value in row.items()))
    return "\n\n".join(blocks)


class OneLineCommandParser(CommandParser):
    """Argument errors as one line. From a shell, argparse would print its usage block first, which
    buries the one line that matters in a script's log; from `call_command` Django already raises."""

    def error(self, message):
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message}\n")
        raise CommandError(f"Error: {message}")


class PortalCommand(BaseCommand):
    """Subclasses implement `run(**options)`; `handle` turns a user's mistake into one line."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds its CommandParser itself; only the error output differs, so swap the class.
        parser.__class__ = OneLineCommandParser
        return parser

    def handle(self, *args, **options):
        try:
            self.run(*args, **options)
        except PortalError as error:
            # CommandError prints "CommandError: <message>" and exits 1 from a shell.
            raise CommandError(str(error)) from None
        except OperationalError as error:
            # Not the command's mistake, but still no traceback: the operator needs the one line, and
            # the transaction of the service, if one had begun, rolled back.
            raise CommandError(DATABASE_UNREACHABLE.format(error=type(error).__name__)) from None
        except DatabaseError as error:
            raise CommandError(DATABASE_FAILED.format(error=type(error).__name__)) from None

    def run(self, *args, **options) -> None:
        raise NotImplementedError

    @property
    def actor(self) -> Actor:
        # The audit log names the command as a shell user typed it: the module is the command's name.
        return Actor.for_command(self.__module__.rpartition(".")[2])

    def tenant(self, slug: str) -> Tenant:
        tenant = tenant_get_by_slug(slug=slug)
        if tenant is None:
            raise PortalError(TENANT_MISSING.format(slug=slug))
        return tenant

    def line(self, text: str = "") -> None:
        self.stdout.write(text)
