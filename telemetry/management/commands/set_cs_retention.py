"""set_cs_retention <tenant> [--usage-days N] [--error-report-days N] [--erase-on-opt-out BOOL] (lifecycle.md).

Shortening a retention says how many stored records it removes, in the words and with the numbers of
the portal's confirmation (tenants.consequences.retention_what_if, read from the ledger, never from the
record tables)."""

import sys

from django.db import transaction

from tenants.consequences import retention_what_if
from tenants.management.base import PortalCommand, parse_bool
from tenants.services import (
    ERASE_ON_OPT_OUT,
    ERROR_REPORT_RETENTION,
    USAGE_RETENTION,
    PortalError,
    tenant_setting_check,
    tenant_setting_set,
)

NOTHING_TO_SET = "Give at least one of --usage-days, --error-report-days, --erase-on-opt-out."
DAYS_INVALID = "{option} takes a whole number of days: {value!r} is not one."
NEEDS_FORCE = "{removed} Add --force to go on."
CONFIRM = "{removed} Go on? [y/N] "
NOT_CONFIRMED = "Nothing was changed."


def _days(value: str | None, *, option: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise PortalError(DAYS_INVALID.format(option=option, value=value)) from None


class Command(PortalCommand):
    help = (
        "Set-CsRetention: how many days a tenant's usage records and error reports are kept (1 to 2562), and "
        "whether an end user's opt-out erases their error reports. Shortening says what it removes and asks "
        "first (--force when not on a terminal)."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--usage-days", default=None, help="KeepUsageRecordsForDays, 1 to 2562")
        parser.add_argument("--error-report-days", default=None, help="KeepErrorReportForDays, 1 to 2562")
        parser.add_argument("--erase-on-opt-out", default=None, help="EraseErrorReportsOnOptOut: true or false")
        parser.add_argument("--force", action="store_true", help="shorten without asking")

    def run(self, *, tenant, usage_days, error_report_days, erase_on_opt_out, force, **options):
        tenant = self.tenant(tenant)
        usage = _days(usage_days, option="--usage-days")
        errors = _days(error_report_days, option="--error-report-days")
        erase = None if erase_on_opt_out is None else parse_bool(erase_on_opt_out, option="--erase-on-opt-out")
        changes = [
            (setting, value)
            for setting, value in (
                (USAGE_RETENTION, usage),
                (ERROR_REPORT_RETENTION, errors),
                (ERASE_ON_OPT_OUT, erase),
            )
            if value is not None
        ]
        if not changes:
            raise PortalError(NOTHING_TO_SET)
        for setting, value in changes:
            tenant_setting_check(setting=setting, value=value)
        shortens = (usage is not None and usage < tenant.usage_retention_days) or (
            errors is not None and errors < tenant.error_report_retention_days
        )
        if shortens and not force:
            removed = retention_what_if(
                tenant=tenant,
                usage_days=usage or tenant.usage_retention_days,
                error_report_days=errors or tenant.error_report_retention_days,
            )
            self._confirm(" ".join(removed))
        with transaction.atomic():
            for setting, value in changes:
                tenant = tenant_setting_set(tenant=tenant, setting=setting, value=value, actor=self.actor)
        self.line(
            f"Retention of {tenant.slug}: usage records {tenant.usage_retention_days} days, error reports "
            f"{tenant.error_report_retention_days} days, erase on opt-out {tenant.erase_error_reports_on_opt_out}."
        )

    def _confirm(self, removed: str) -> None:
        if not sys.stdin.isatty():
            raise PortalError(NEEDS_FORCE.format(removed=removed))
        self.stdout.write(CONFIRM.format(removed=removed), ending="")
        self.stdout.flush()
        if input().strip().lower() not in ("y", "yes"):
            raise PortalError(NOT_CONFIRMED)
