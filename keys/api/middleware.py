"""Route KMS JSON API requests (POST / with X-Amz-Target) away from the console, before sessions and CSRF."""

from __future__ import annotations

from keys.api import protocol


class KmsApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if protocol.is_api_request(request):
            return protocol.handle(request)
        return self.get_response(request)
