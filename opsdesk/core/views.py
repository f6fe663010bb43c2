from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsdesk.core.models import SecurityEvent
from opsdesk.core.permissions import public, role_required
from opsdesk.core.roles import Role
from opsdesk.core.services import login_lockout_clear


@public
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@role_required(Role.ADMIN, Role.OWNER)
def lockout_list(request: HttpRequest) -> HttpResponse:
    locked = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    events = SecurityEvent.objects.select_related("actor")[:50]
    return render(
        request,
        "core/lockout_list.html",
        {"locked": locked.order_by("-attempt_time"), "events": events},
    )


@role_required(Role.ADMIN, Role.OWNER)
@require_POST
def lockout_clear(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(AccessAttempt, pk=attempt_id)
    login_lockout_clear(attempt_id=attempt.pk, actor=request.user)
    messages.success(request, f"Unlocked {attempt.username} from {attempt.ip_address}.")
    return redirect("core:lockouts")
