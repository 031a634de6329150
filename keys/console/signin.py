"""Console page module: signin (the IAM user sign-in page) and sign-out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from keys.console.access import principal_required, safe_next_url
from keys.console.forms import SignInForm


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: a safe ?next= on this site, else the Encryption keys page."""
    candidate = request.POST.get("next") or request.GET.get("next")
    return safe_next_url(request, candidate) or resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def signin(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignInForm(request, data=request.POST)
        if form.is_valid():
            login(request, form.principal.user)
            return redirect(_next_url(request))
        status = 400
    else:
        form = SignInForm(request, initial={"account": request.GET.get("account", "")[:63]})
        status = 200
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "keys/signin.html", {"form": form, "next": next_url}, status=status)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect("console:signin")


@principal_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("console:encryption-keys")


urlpatterns = [
    path("", home, name="home"),
    path("signin/", signin, name="signin"),
    path("signout/", signout, name="signout"),
]
