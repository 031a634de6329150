"""Template context for the console chrome: the signed-in principal and its account."""

from __future__ import annotations


def console(request):
    user = getattr(request, "user", None)
    principal = getattr(user, "principal", None) if user is not None and user.is_authenticated else None
    return {"principal": principal, "account": principal.account if principal else None}
