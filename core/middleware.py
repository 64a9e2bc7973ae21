from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import redirect, render
from django.urls import Resolver404, get_script_prefix, resolve, reverse
from django.utils import translation


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


class FriendlyMethodNotAllowedMiddleware:
    """A GET on an action URL (approve, void, unlock…) gets a page that says what happened and
    leads back to the record, in the reader's language (issue 2 "Bad input", R-UX-2).

    Django's ``require_POST`` answers 405 with an empty body: a blank page, which people reach by
    reloading or bookmarking an action URL, or by switching the language on a page that a refused
    form re-rendered at its action URL.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.streaming
            or response.content
            or request.method not in ("GET", "HEAD")
        ):
            return response
        page = render(request, "errors/405.html", {"back_url": self._record_url(request.path_info)}, status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page

    @staticmethod
    def _record_url(path: str) -> str:
        """The page one level up (``/release/products/3/approve/`` → ``/release/products/3/``)
        when it is a page that can be opened; else My work."""
        parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
        try:
            resolve(parent)
        except Resolver404:
            return reverse("core:my_work")
        if parent == path:
            return reverse("core:my_work")
        return get_script_prefix() + parent.lstrip("/")


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every page and download served to a signed-in person
    (issue 8 item 9): GMP records and PDFs are not kept by the browser's or a proxy's cache, where
    the next person at a shared plant PC could open them after sign-out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
        return response


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")


def clean_upload(upload) -> None:
    """Remove what the client put in an uploaded file's name, type and charset that no database
    column can hold (NUL) or that no real file type has (control characters, free text)."""
    name = _CONTROL_CHARACTERS.sub("", upload.name or "").strip()
    upload.name = name or "upload"
    # What comes after a NUL or control character is not part of a media type.
    content_type = _CONTROL_CHARACTERS.split(upload.content_type or "", maxsplit=1)[0].strip()
    upload.content_type = content_type if _MEDIA_TYPE.fullmatch(content_type) else "application/octet-stream"
    if upload.charset:
        upload.charset = _CONTROL_CHARACTERS.sub("", upload.charset)[:40] or None


class CleanUploadsMiddleware:
    """Every uploaded file's client-supplied name and Content-Type are cleaned before any view
    stores them (issue 8 item 8: a NUL byte in a multipart part's Content-Type reached PostgreSQL
    as a DataError, a server error, R-UX-2). Runs after the CSRF check has read the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if request.method == "POST" and request.content_type == "multipart/form-data":
            for _field, uploads in request.FILES.lists():
                for upload in uploads:
                    clean_upload(upload)
        return None
