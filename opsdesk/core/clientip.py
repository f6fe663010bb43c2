"""The client's address, for lockouts: REMOTE_ADDR, or the address the trusted proxies saw.

With PROXY_COUNT=0 (no proxy in front) X-Forwarded-For is ignored: a client could write
anything there. Behind N proxies that each append the address they received from, the
client is the N-th entry from the right.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    count = settings.PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")
