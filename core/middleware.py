from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.shortcuts import redirect
from django.urls import reverse


class ForcePasswordChangeMiddleware:
    """After an administrator's reset the person must choose their own password first (R-AUTH-5)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            allowed = {reverse("password_change"), reverse("logout"), reverse("set_language")}
            if request.path not in allowed and not request.path.startswith(("/static/", "/jsi18n/")):
                return redirect("password_change")
        return self.get_response(request)


class SiteLanguageMiddleware(LocaleMiddleware):
    """The site's language is 简体中文 unless the person chose another with the switcher.

    Django's LocaleMiddleware would follow the browser's Accept-Language; plant PCs often run
    English-language browsers, and the issue (and the users) want Chinese by default.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = translation.get_supported_language_variant(chosen) if chosen else settings.LANGUAGE_CODE
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
