"""Under /api/ every answer is JSON, even a 404 from the URL resolver or an unhandled error; and the language
each page speaks."""

import logging

from django.conf import settings
from django.http import JsonResponse
from django.urls import is_valid_path
from django.utils import translation

from reservations import access
from reservations.access import is_staff_member
from reservations.api.errors import database_unavailable, error_body, unexpected_error_answer

from .errors import database_unavailable_answer

logger = logging.getLogger("cxhost")

API_PREFIX = "/api/"
CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         413: "request_too_large", 503: "service_unavailable"}


class ApiTrailingSlashMiddleware:
    """Serve an /api/ path sent without its trailing slash as if it had one.

    Django's APPEND_SLASH answers with a redirect, which a client follows with a GET and so loses a
    POST's body (with DEBUG on it is even an HTML error page). An API client deserves the answer itself.
    Runs before CommonMiddleware, which then sees a path that resolves and redirects nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path_info = request.path_info
        if (
            request.path.startswith(API_PREFIX)
            and not path_info.endswith("/")
            and not is_valid_path(path_info, getattr(request, "urlconf", None))
            and is_valid_path(f"{path_info}/", getattr(request, "urlconf", None))
        ):
            request.path_info = f"{path_info}/"
            request.path = f"{request.path}/"
        return self.get_response(request)


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = CODES.get(response.status_code, "error")
            if response.status_code == 403:
                detail = "Forbidden (CSRF check failed or not allowed)."
            else:
                detail = f"Nothing at {request.path}." if response.status_code == 404 else "Request failed."
            return JsonResponse({"code": code, "detail": detail}, status=response.status_code)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if database_unavailable(exception):
            return database_unavailable_answer(request, exception)
        answer = unexpected_error_answer(exception)
        if answer is not None:
            status, body, headers = answer
            return JsonResponse(body, status=status, headers=headers)
        logger.exception("Unhandled error on %s", request.path)
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; nothing was saved."), status=500
        )


class StaffLanguageMiddleware:
    """The language of a page, once LocaleMiddleware has read the switcher's cookie or the browser's wish.

    - The API always answers in English: its words (error details, field names) are the contract.
    - On the desk and its login pages (`settings.STAFF_LANGUAGE_PATHS`) a member of staff who has not chosen a
      language with the switcher gets their restaurant's (`Restaurant.language`): the one in the URL, else their
      first; staff of no restaurant get English. A tablet shared at the door says nothing about its user.
    - Elsewhere (the admin; the login page for someone not yet known): the choice, else the browser's, else
      English, as LocaleMiddleware decided.

    Runs after AuthenticationMiddleware (it needs the user) and in `process_view` (it needs the URL's slug).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(API_PREFIX):
            language = settings.LANGUAGE_CODE
        elif (request.path.startswith(settings.STAFF_LANGUAGE_PATHS) and not language_chosen(request)
              and is_staff_member(request.user)):
            language = restaurant_language(request.user, view_kwargs.get("slug")) or settings.LANGUAGE_CODE
        else:
            return None
        translation.activate(language)
        request.LANGUAGE_CODE = language
        return None


def language_chosen(request) -> bool:
    """Did this browser's user pick a language with the switcher (Django's set_language cookie)?"""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if not chosen:
        return False
    try:
        translation.get_supported_language_variant(chosen)
    except LookupError:
        return False
    return True


def restaurant_language(user, slug: str | None) -> str | None:
    """The language of the restaurant in the URL, if the user works there, else of the first they work at."""
    restaurants = access.restaurants_for(user)
    restaurant = restaurants.filter(slug=slug).first() if slug else None
    if restaurant is None:
        # Their own restaurants only: a superuser is an admin of every one, but works at none in particular.
        restaurant = restaurants.filter(memberships__user=user).order_by("name").first()
    return restaurant.language if restaurant is not None else None


# Pages run only our own scripts (no inline ones: the desk's live in static/desk/desk.js, the API docs' init script
# is served by SpectacularSwaggerSplitView), talk only to us, and cannot be framed. Inline styles stay allowed: the
# board positions its blocks with style attributes, and htmx adds its indicator style; a style cannot run code.
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Anything not HTML (the API's JSON, the schema) is never a page: nothing in it may load or run anything.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware:
    """The Content-Security-Policy header on every answer (Django 5.2 has none of its own). The other security
    headers (nosniff, Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options, HSTS) are Django's, set in
    settings."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            page = response.get("Content-Type", "").startswith("text/html")
            response["Content-Security-Policy"] = PAGE_POLICY if page else DATA_POLICY
        return response
