"""``manage.py api_token issue|revoke USERNAME``: manage a staff account's API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Issue (or replace) or revoke the API token of an account. Only staff "
        "accounts may write through the API."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["issue", "revoke"])
        parser.add_argument("username")

    def handle(self, *args, action: str, username: str, **options) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No account named {username!r}.") from None
        if action == "revoke":
            deleted, _ = Token.objects.filter(user=user).delete()
            message = "Token revoked." if deleted else "The account had no token."
            self.stdout.write(self.style.SUCCESS(message))
            return
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        if not user.is_staff:
            self.stderr.write(
                self.style.WARNING(f"{username} is not staff: the token can only read.")
            )
        self.stdout.write(token.key)
