"""Requests refused before any view runs."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from telemetry import problems

NUL = "\x00"
NUL_REFUSED = "The address holds a NUL character."


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
                return problems.bad_request(NUL_REFUSED, quiet=True)
            response = HttpResponseBadRequest(
                f"<!doctype html><title>Bad request</title><p>{NUL_REFUSED}</p>",
                content_type="text/html; charset=utf-8",
            )
            # The path may hold the NUL, or a user ID: not for the request log.
            response._has_been_logged = True
            return response
        return self.get_response(request)
