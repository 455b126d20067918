"""The project's URLs plus two views that fail, to see what a 500 answers on an API path and elsewhere."""

from django.urls import path

from portal import urls as project_urls


def _fail(request):
    raise RuntimeError("a bug, not the client's mistake")


urlpatterns = [
    path("api/v1/failing", _fail),
    path("portal/failing", _fail),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
