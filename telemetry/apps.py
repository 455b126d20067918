from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "telemetry"
    verbose_name = _("Telemetry")

    def ready(self):
        # The what-if of the policy pages and what a shorter retention deletes read the ledger (never the
        # record tables) through tenants' registry: tenants may not import telemetry's models
        # (tests/test_architecture.py). One provider serves both: the retention asks it for the accepted
        # records of the days that would leave. Imported here, once the models are loaded: at the top of
        # this module they would be imported before the app registry is ready.
        from telemetry.selectors import ledger_records  # noqa: PLC0415
        from tenants import consequences  # noqa: PLC0415

        consequences.register(ledger_records)
