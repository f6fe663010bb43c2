"""The login backend: Django's ModelBackend, reading the user's roles with the user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import StringAgg, Value

from opsdesk.core.roles import user_roles_set

# Between group names in the aggregate: a character no role name contains.
SEPARATOR = "\x1f"


class StaffBackend(ModelBackend):
    """`get_user` runs on every request: it reads the user's group names in the same query,
    so the page's role checks (the view's, the menu's) need no query of their own."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.annotate(
            group_names=StringAgg("groups__name", Value(SEPARATOR))
        )
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        user_roles_set(user, user.group_names.split(SEPARATOR) if user.group_names else ())
        return user
