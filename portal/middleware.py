"""Requests refused before any view runs."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telemetry import problems

NUL = "\x00"
NUL_REFUSED = _("The address holds a NUL character.")


class RefuseNulMiddleware:
    """A NUL in the path or the query string is a 400, for every URL.

    PostgreSQL refuses NUL in text ("A string literal cannot contain NUL"), so a NUL that reaches a
    query (an admin filter, a search term, a dashboard parameter) would be a 500. No address of the
    portal legitimately holds one; refusing it here spares every view from checking.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or any(
            NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()
        ):
            if problems.is_api_path(request.path):
                return problems.bad_request(str(NUL_REFUSED), quiet=True)  # English: PortalLocaleMiddleware
            response = HttpResponseBadRequest(
                format_html(
                    '<!doctype html><html lang="{}"><title>{}</title><p>{}</p>',
                    translation.get_language(),
                    gettext("Bad request"),
                    NUL_REFUSED,
                ),
                content_type="text/html; charset=utf-8",
            )
            # The path may hold the NUL, or a user ID: not for the request log.
            response._has_been_logged = True
            return response
        return self.get_response(request)


class PortalLocaleMiddleware(LocaleMiddleware):
    """Django's language choice (switcher cookie, then Accept-Language) for pages; English for the API.

    Clients script against the API's problem details and JSON values (api.md), and sentences shared
    with the pages are lazy translations: activating English here makes them print English whatever
    the client's Accept-Language says.
    """

    def process_request(self, request: HttpRequest) -> None:
        if _is_static(request.path_info):
            return
        if problems.is_api_path(request.path_info):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if _is_static(request.path_info):
            # A file is the same in every language: no Vary: Accept-Language to split the caches.
            return response
        if problems.is_api_path(request.path_info):
            # Not Vary: Accept-Language: the answer is the same in every language.
            response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
            return response
        return super().process_response(request, response)


def _is_static(path: str) -> bool:
    return path.startswith("/" + settings.STATIC_URL.lstrip("/"))
