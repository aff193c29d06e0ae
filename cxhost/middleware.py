"""Under /api/ every answer is JSON, even a 404 from the URL resolver or an unhandled error."""

import logging

from django.http import JsonResponse

logger = logging.getLogger("cxhost")


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = {404: "not_found", 405: "method_not_allowed", 403: "forbidden"}.get(response.status_code, "error")
            if response.status_code == 403:
                detail = "Forbidden (CSRF check failed or not allowed)."
            else:
                detail = f"Nothing at {request.path}." if response.status_code == 404 else "Request failed."
            return JsonResponse({"code": code, "detail": detail}, status=response.status_code)
        return response

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            logger.exception("Unhandled error on %s", request.path)
            return JsonResponse(
                {"code": "server_error", "detail": "Something went wrong on our side; nothing was saved."}, status=500
            )
        return None
