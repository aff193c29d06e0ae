"""Under /api/ every answer is JSON, even a 404 from the URL resolver or an unhandled error."""

import logging

from django.http import JsonResponse
from django.urls import is_valid_path

from reservations.api.errors import error_body, unexpected_error_answer

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
        answer = unexpected_error_answer(exception)
        if answer is not None:
            status, body, headers = answer
            if status >= 500:
                logger.warning("%s on %s: %s", body["code"], request.path, exception)
            return JsonResponse(body, status=status, headers=headers)
        logger.exception("Unhandled error on %s", request.path)
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; nothing was saved."), status=500
        )
