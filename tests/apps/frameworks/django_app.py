"""Django (ASGI): function, class-based and async views, converters, an included URLconf, streaming.

Plain Django has no WebSocket and answers lifespan by raising, which the
spec allows for a protocol an app does not support.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="asgibench-corpus-only",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )
    django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import include, path, re_path  # noqa: E402
from django.utils.decorators import method_decorator  # noqa: E402
from django.views import View  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo")
EVENTS: list[str] = []  # Django has no lifespan handlers


def home(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"framework": "django"})


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"item_id": item_id})


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


@method_decorator(csrf_exempt, name="dispatch")
class EchoView(View):
    async def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.body, content_type=request.content_type or "application/octet-stream")


def user(request: HttpRequest, user_id: object) -> JsonResponse:
    return JsonResponse({"user_id": str(user_id)})


def article(request: HttpRequest, slug: str) -> JsonResponse:
    return JsonResponse({"slug": slug})


def document(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse({"path": rest})


def about(request: HttpRequest) -> HttpResponse:
    return HttpResponse("about", content_type="text/plain")


api_patterns = [
    path("users/<uuid:user_id>", user),
    path("articles/<slug:slug>", article),
]

urlpatterns = [
    path("", home),
    path("items/<int:item_id>", item),
    path("stream", stream),
    path("echo", EchoView.as_view()),
    path("api/", include(api_patterns)),
    path("docs/<path:rest>", document),
    re_path(r"^about/$", about),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", about),
]

app = get_asgi_application()
