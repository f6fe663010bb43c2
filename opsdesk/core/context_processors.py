from django.conf import settings

from opsdesk.core.roles import user_roles


def store(request) -> dict:
    user = getattr(request, "user", None)
    roles = sorted(user_roles(user)) if user is not None else []
    return {"store_name": settings.STORE_NAME, "user_role_names": roles}
