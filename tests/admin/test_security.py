"""The security baseline: deploy checks, sign-in lockout, CSRF and the Content-Security-Policy."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.test import Client
from django.urls import reverse

from tenants.models import Tenant
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent


def test_check_deploy_is_clean_under_production_settings():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEMETRY_", "DATABASE_"))}
    environment.update(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), TELEMETRY_HASH_KEY=secrets.token_urlsafe(50))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def sign_in(client, password):
    return client.post(reverse("admin:login"), {"username": "hamlet", "password": password}, REMOTE_ADDR="192.0.2.1")


def test_the_admin_sign_in_locks_after_five_failures(client, hamlet):
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(5):
        refused = sign_in(client, "wrong-password-here")
        assert "_auth_user_id" not in client.session
    assert refused.status_code == 429
    locked = sign_in(client, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's failures.
    other = client.post(
        reverse("admin:login"), {"username": "hamlet", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 302


def test_admin_writes_need_the_csrf_token(hamlet, contoso):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hamlet)
    response = client.post(
        reverse("admin:tenants_tenant_change", args=[contoso.pk]),
        {"usage_collection_enabled": "False", "watson_uploads_enabled": "True", "_confirm_stop_collection": "yes"},
    )
    assert response.status_code == 403
    assert Tenant.objects.get(pk=contoso.pk).disable_automatic_send_tracing is False


def test_admin_pages_carry_the_content_security_policy(client, hamlet, contoso):
    client.force_login(hamlet)
    for url in (reverse("admin:index"), reverse("admin:tenants_tenant_change", args=[contoso.pk])):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy


def test_the_portals_admin_templates_have_no_inline_script_or_style():
    templates = list((ROOT / "templates" / "admin").rglob("*.html"))
    assert len(templates) >= 8
    for template in templates:
        text = template.read_text()
        assert "style=" not in text, template
        assert "<style" not in text, template
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag, (template, tag)


def inline_script_or_style(body: str) -> list[str]:
    found = [tag for tag in re.findall(r"<script[^>]*>", body) if "src=" not in tag and "application/json" not in tag]
    return found + re.findall(r"<[^>]+\sstyle=[^>]*>", body)


def test_the_pages_the_portal_builds_render_without_inline_script_or_style(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    tenant = contoso_pool.tenant
    pages = [
        client.get(reverse("admin:index")),
        client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk])),
        client.post(
            reverse("admin:tenants_tenant_change", args=[tenant.pk]),
            {"usage_collection_enabled": "False", "watson_uploads_enabled": "True"},
        ),
        client.post(reverse("admin:tenants_ingestionkey_add"), {"label": "gateway"}, follow=True),
        client.get(reverse("admin:tenants_webserviceconfiguration_add")),
        client.get(reverse("admin:tenants_enduser_changelist"), {"q": "amos"}),
    ]
    for page in pages:
        assert page.status_code == 200
        assert inline_script_or_style(page.content.decode()) == [], page.request["PATH_INFO"]
