import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import resolve

logger = logging.getLogger(__name__)


def database_unavailable_response(exception: Exception) -> HttpResponse | None:
    """The 503 answer for an exception that says the database is unreachable, else None."""
    if isinstance(exception, OperationalError | InterfaceError) or (
        isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
    ):
        logger.warning("database unavailable: %s", exception)
        # Rendered without the request: its context processors would query the database.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return None


class DatabaseUnavailableMiddleware:
    """Answer 503 with a clear page, not a traceback, while the database is unreachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_unavailable_response(exception)


def machine_endpoint(view):
    """Mark a view as called by machines only (a store's webhooks): it reads no session,
    cookie, CSRF token or message and renders no page, so MachineEndpointMiddleware may call
    it without the browser middleware."""
    view.machine_endpoint = True
    return view


class MachineEndpointMiddleware:
    """Send requests for machine endpoints (under MACHINE_PREFIXES, marked with
    @machine_endpoint) straight to their view, past the middleware below this one. The prefix
    spares every other request a second URL resolution; the mark keeps a view under it from
    skipping the middleware by accident.

    Sessions, CSRF, authentication, messages, the page policies, htmx and login throttling
    serve people in browsers; on a webhook they do nothing but cost CPU (measured in-process:
    2.3 ms a delivery with them, 2.0 without), and webhooks are the one traffic that arrives
    in bursts of hundreds a second. Placed after SecurityMiddleware, so HTTPS redirects and
    its headers still apply. A database outage answers 503, as DatabaseUnavailableMiddleware
    does for pages, so the store retries.
    """

    MACHINE_PREFIXES = ("/webhooks/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(self.MACHINE_PREFIXES):
            return self.get_response(request)
        match = resolve(request.path_info)
        if not getattr(match.func, "machine_endpoint", False):
            return self.get_response(request)
        request.resolver_match = match
        try:
            return match.func(request, *match.args, **match.kwargs)
        except Exception as exc:
            response = database_unavailable_response(exc)
            if response is None:
                raise
            return response
