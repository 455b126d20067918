"""The admin tests' world (a tenant with a site, pools, configurations, a key, an end user, records),
for the pages the language tests walk; and English again after each test."""

import pytest
from django.utils import translation

from tests.admin.conftest import contoso_world, fabrikam_world  # noqa: F401


@pytest.fixture(autouse=True)
def _english_after_each_test():
    # The test client runs a request in the test's own thread, and LocaleMiddleware leaves the language
    # it chose active there: the next test in this process would otherwise speak Italian.
    yield
    translation.deactivate()
