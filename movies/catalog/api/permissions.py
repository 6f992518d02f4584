"""Who may do what through the API: the admin's rules.

Anyone may read. Writing takes a staff account with the model permission the
admin asks for the same change (``catalog.add_movie``, ``change_movie``,
``delete_movie`` and the same for genres); superusers have them all.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


class StaffModelPermissionsOrReadOnly(DjangoModelPermissions):
    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return super().has_permission(request, view)
