"""The login backend: Django's ModelBackend, reading the user's roles with the user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import StringAgg, Value

from opsdesk.core.compiled import CompiledRead
from opsdesk.core.roles import user_roles_set

# Between group names in the aggregate: a character no role name contains.
SEPARATOR = "\x1f"

# Compiled once per process (opsdesk.core.compiled): it runs on every request.
_user_with_group_names = CompiledRead(
    lambda user_id: (
        get_user_model()
        ._default_manager.annotate(group_names=StringAgg("groups__name", Value(SEPARATOR)))
        .filter(pk=user_id)
    ),
    user_id=int,
)


class StaffBackend(ModelBackend):
    """`get_user` runs on every request: it reads the user's group names in the same query,
    so the page's role checks (the view's, the menu's) need no query of their own."""

    def get_user(self, user_id):
        found = _user_with_group_names(user_id=int(user_id))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        user_roles_set(user, user.group_names.split(SEPARATOR) if user.group_names else ())
        return user
