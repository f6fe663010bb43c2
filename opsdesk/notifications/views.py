"""The inbox, its badge, e-mail settings and the mail test page.

Each view's permission decorator goes outermost, so a refused visitor learns nothing else
(not even which methods the view allows).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsdesk.core.permissions import role_required, staff_required
from opsdesk.core.roles import Role
from opsdesk.notifications import selectors, services
from opsdesk.notifications.forms import MailTestForm, NotificationPreferencesForm
from opsdesk.notifications.models import Notification

INBOX_PAGE_SIZE = 25
INBOX_CHANGED_EVENT = "opsdesk:inbox-changed"  # the top bar's badge listens for it


def _page_number(request: HttpRequest) -> int:
    raw = request.POST.get("page") or request.GET.get("page") or "1"
    try:
        return max(int(raw), 1)
    except ValueError:
        return 1


def _inbox_page(request: HttpRequest) -> Page:
    paginator = Paginator(selectors.notification_list_for_inbox(user=request.user), INBOX_PAGE_SIZE)
    return paginator.get_page(_page_number(request))


def _inbox_context(request: HttpRequest) -> dict:
    return {
        "page": _inbox_page(request),
        "unread_count": selectors.notification_unread_count(user=request.user),
    }


@staff_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    template = "notifications/inbox.html"
    if request.htmx:
        template += "#inbox_list"
    return render(request, template, _inbox_context(request))


def _inbox_changed(request: HttpRequest) -> HttpResponse:
    """After a change: the list fragment for htmx (and a nudge to the badge), else a redirect."""
    if request.htmx:
        response = render(request, "notifications/inbox.html#inbox_list", _inbox_context(request))
        response["HX-Trigger"] = INBOX_CHANGED_EVENT
        return response
    return redirect(f"{reverse('notifications:inbox')}?page={_page_number(request)}")


@staff_required
@require_POST
def notification_mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.notification_mark_read(notification_id=notification_id, actor=request.user)
    except Notification.DoesNotExist:
        raise Http404("No such notification in your inbox.") from None
    return _inbox_changed(request)


@staff_required
@require_POST
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(actor=request.user)
    if not request.htmx:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return _inbox_changed(request)


@staff_required
@require_GET
@never_cache
def unread_badge(request: HttpRequest) -> HttpResponse:
    count = selectors.notification_unread_count(user=request.user)
    if not count:
        return HttpResponse("")
    return render(request, "notifications/partials/_unread_badge.html", {"count": count})


@staff_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    processes = selectors.notification_preference_modes(user=request.user)
    form = NotificationPreferencesForm(request.POST or None, processes=processes)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preferences_save(
                user=request.user, modes=form.modes(), actor=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Your notification settings are saved.")
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


@role_required(Role.ADMIN, Role.OWNER)
@require_http_methods(["GET", "POST"])
def mail_test(request: HttpRequest) -> HttpResponse:
    form = MailTestForm(request.POST or None, initial={"to": request.user.email})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.mail_test_send(to=form.cleaned_data["to"], actor=request.user)
        except ValidationError as exc:
            form.add_error("to", exc)
        else:
            if result.ok:
                messages.success(request, f"Test message sent to {result.to}. Check that inbox.")
            else:
                messages.error(
                    request, f"The test message to {result.to} was not sent: {result.error}"
                )
            return redirect("notifications:mail_test")
    mailer = settings.MAILERS.get("default", {})
    return render(
        request,
        "notifications/mail_test.html",
        {
            "form": form,
            "tests": selectors.mail_test_list_recent(),
            "deliveries": selectors.delivery_counts_by_status(),
            "mail_backend": mailer.get("BACKEND", ""),
            "from_email": settings.DEFAULT_FROM_EMAIL,
            "reply_to": settings.STORE_REPLY_TO,
        },
    )
