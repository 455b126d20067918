"""The portal's URLs plus two views that answer the language active while they run: one under the API
prefix, one outside it."""

from django.http import JsonResponse
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext

from portal.urls import urlpatterns as portal_urlpatterns


def language_view(request):
    # "Log out" is in Django's own admin catalogue: translated wherever a language other than English is
    # active, so the answer shows the catalogue in use, not only the language code.
    return JsonResponse({"language": translation.get_language(), "log_out": gettext("Log out")})


urlpatterns = [
    path("api/v1/language-probe", language_view),
    path("portal/api/language-probe", language_view),
    path("portal/language-probe", language_view),
    *portal_urlpatterns,
]
