"""Every view declares who may open it; tests/test_permissions.py fails on one that does not.

@role_required(Role.OWNER, Role.ADMIN)   # those roles (superusers pass as Admin)
@staff_required                          # any staff role
@public                                  # no login (login page, health check)
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect

from opsdesk.core.roles import ALL_ROLES, user_has_role

PUBLIC = "public"


def role_required(*roles: str) -> Callable:
    """Require a login and one of `roles`; otherwise the login page or a 403 page."""
    allowed: tuple[str, ...] = tuple(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if getattr(request, "htmx", False):
                    # A fragment must not swap the login page into the page: send the
                    # whole browser there, back to the page it was on.
                    return HttpResponseClientRedirect(
                        redirect_to_login(request.htmx.current_url_abs_path or "/").url
                    )
                return redirect_to_login(request.get_full_path())
            if not user.is_active or not user_has_role(user, *allowed):
                return render(request, "403.html", {"required_roles": allowed}, status=403)
            return view(request, *args, **kwargs)

        wrapper.required_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator


staff_required = role_required(*ALL_ROLES)


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone, on purpose."""
    view.required_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def declared_roles(view: Callable) -> Iterable[str] | str | None:
    return getattr(view, "required_roles", None)
