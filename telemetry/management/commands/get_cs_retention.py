from tenants.management.base import PortalCommand, format_list


class Command(PortalCommand):
    help = "Get-CsRetention: how long a tenant's records are kept, and whether an opt-out erases error reports."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")

    def run(self, *, tenant, **options):
        tenant = self.tenant(tenant)
        row = {
            "Identity": tenant.slug,
            "KeepUsageRecordsForDays": tenant.usage_retention_days,
            "KeepErrorReportForDays": tenant.error_report_retention_days,
            "EraseErrorReportsOnOptOut": tenant.erase_error_reports_on_opt_out,
        }
        self.line(format_list([row]))
