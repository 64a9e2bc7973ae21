"""How a connected system proves who it is: ``Authorization: Token rdk_…`` (or ``Bearer``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api.models import ApiToken
from api.services import token_digest


class SystemTokenAuthentication(authentication.BaseAuthentication):
    """A working token of an active system account, looked up by its SHA-256 (the key itself is
    never stored). A token sent and refused is a 401, never a silent fall back to anonymous."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Authorization: Token <your token>."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = (
            ApiToken.objects.select_related("account")
            .filter(key_sha256=token_digest(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.account.is_system_account:
            raise exceptions.AuthenticationFailed(_("The token is not valid or has been revoked."))
        if not token.account.is_active:
            raise exceptions.AuthenticationFailed(_("The account of this token is deactivated."))
        request._request.api_token = token
        return token.account, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'
