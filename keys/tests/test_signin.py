"""Sign-in, sign-out, who may see console pages, and the page-wide protections (CSRF, CSP, no inline script)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from keys.models import SignInAttempt
from keys.services import directory
from keys.tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

MAIN = "111122223333"
EXTERNAL = "444455556666"
INCORRECT = "Your authentication information is incorrect. Please try again."
CONSOLE_PAGES = ["/", "/iam/", "/iam/users/", "/iam/roles/", "/iam/encryption-keys/"]


def sign_in(client: Client, *, account: str = MAIN, user: str = "Admin", password: str = DEMO_PASSWORD, **extra):
    data = {"account": account, "user_name": user, "password": password, **extra}
    return client.post(reverse("console:signin"), data)


def test_sign_in_page_has_the_iam_labels(client):
    html = client.get("/signin/").content.decode()
    for label in ("Account ID or alias", "IAM user name", "Password"):
        assert re.search(rf'<label[^>]*for="id_\w+"[^>]*>{label}</label>', html)
    assert ">Sign In</button>" in html


def test_sign_in_lands_on_encryption_keys(client, demo):
    response = sign_in(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("console:encryption-keys")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.wsgi_request.user.principal == demo["Admin"]


def test_sign_in_with_account_alias(client, demo):
    directory.ensure_account(MAIN, alias="training-corp")
    response = sign_in(client, account="training-corp", user="KMSUser")
    assert response.status_code == 302
    assert client.get("/iam/").wsgi_request.user.principal == demo["KMSUser"]


def test_sign_in_follows_a_next_on_this_site(client, demo):
    response = sign_in(client, next="/iam/roles/")
    assert response["Location"] == "/iam/roles/"


def test_sign_in_ignores_a_next_to_another_site(client, demo):
    response = sign_in(client, next="https://evil.example/phish")
    assert response["Location"] == reverse("console:encryption-keys")


def test_login_required_redirect_carries_next_through_the_form(client, demo):
    first = client.get("/iam/users/")
    assert first.status_code == 302
    assert first["Location"] == "/signin/?next=/iam/users/"
    form = client.get(first["Location"]).content.decode()
    assert '<input type="hidden" name="next" value="/iam/users/">' in form
    assert sign_in(client, next="/iam/users/")["Location"] == "/iam/users/"


@pytest.mark.parametrize(
    "account, user, password",
    [
        (MAIN, "Admin", "wrong-password"),
        (MAIN, "NoSuchUser", DEMO_PASSWORD),
        ("999999999999", "Admin", DEMO_PASSWORD),
        (EXTERNAL, "Admin", DEMO_PASSWORD),  # a user of another account
    ],
)
def test_failed_sign_in_does_not_say_which_field_was_wrong(client, demo, account, user, password):
    response = sign_in(client, account=account, user=user, password=password)
    assert response.status_code == 400
    html = response.content.decode()
    assert INCORRECT in html
    assert "_error" not in html  # no per-field error, only the one message
    assert not response.wsgi_request.user.is_authenticated
    assert client.get("/iam/").status_code == 302


def test_failed_sign_in_keeps_account_and_user_but_not_the_password(client, demo):
    html = sign_in(client, password="wrong-password").content.decode()
    assert 'value="111122223333"' in html
    assert 'value="Admin"' in html
    assert "wrong-password" not in html


def test_empty_fields_are_required_and_not_counted(client, demo):
    response = client.post("/signin/", {"account": MAIN, "user_name": "", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert SignInAttempt.objects.count() == 0


def test_five_failures_throttle_even_the_right_password(client, demo):
    for _ in range(directory.SIGN_IN_MAX_FAILURES):
        assert INCORRECT in sign_in(client, user="KMSUser", password="guess").content.decode()
    response = sign_in(client, user="KMSUser", password=DEMO_PASSWORD)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Too many failed sign-in attempts. Wait 15 minutes and then try again." in html
    assert INCORRECT not in html
    assert not response.wsgi_request.user.is_authenticated
    # Another user of the account is not locked out by KMSUser's failures.
    assert sign_in(Client(), user="Admin").status_code == 302


def test_throttle_ends_after_the_window(client, demo, time_machine):
    time_machine.move_to("2026-01-01 10:00:00+00:00", tick=False)
    for _ in range(directory.SIGN_IN_MAX_FAILURES):
        sign_in(client, password="guess")
    assert sign_in(client).status_code == 400
    time_machine.move_to("2026-01-01 10:16:00+00:00", tick=False)
    assert sign_in(client).status_code == 302


def test_tries_while_throttled_count_so_guessing_on_keeps_the_lock(client, demo, time_machine):
    time_machine.move_to("2026-01-01 10:00:00+00:00", tick=False)
    for _ in range(directory.SIGN_IN_MAX_FAILURES):
        sign_in(client, password="guess")
    for minute in range(5, 10):
        time_machine.move_to(f"2026-01-01 10:{minute:02d}:00+00:00", tick=False)
        assert "Too many failed sign-in attempts." in sign_in(client, password="guess-on").content.decode()
    assert SignInAttempt.objects.count() == 2 * directory.SIGN_IN_MAX_FAILURES
    # The first failures are past the window, the throttled tries are not: still locked.
    time_machine.move_to("2026-01-01 10:16:00+00:00", tick=False)
    assert sign_in(client).status_code == 400
    time_machine.move_to("2026-01-01 10:25:00+00:00", tick=False)
    assert sign_in(client).status_code == 302


def test_successful_sign_in_clears_earlier_failures(client, demo):
    for _ in range(directory.SIGN_IN_MAX_FAILURES - 1):
        sign_in(client, password="guess")
    assert sign_in(client).status_code == 302
    assert SignInAttempt.objects.count() == 0


def test_sign_out_is_a_post_in_the_account_menu(client, demo):
    sign_in(client)
    html = client.get("/iam/").content.decode()
    assert re.search(r'<form method="post" action="/signout/">.*?Sign Out</button>', html, re.S)
    assert client.get("/signout/").status_code == 405
    response = client.post("/signout/")
    assert response["Location"] == reverse("console:signin")
    assert "You have signed out." in client.get(response["Location"]).content.decode()
    assert client.get("/iam/").status_code == 302


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_console_pages_need_a_signed_in_user(client, demo, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_a_user_without_an_iam_principal_gets_403(client, demo, url):
    client.force_login(User.objects.create_user("operator", password="not-an-iam-user"))
    response = client.get(url)
    assert response.status_code == 403
    assert "Access denied" in response.content.decode()


def test_sign_in_post_without_csrf_token_is_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.get("/signin/")
    response = sign_in(client)
    assert response.status_code == 403
    assert client.get("/iam/").status_code == 302


def test_sign_out_without_csrf_token_is_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["Admin"].user)
    assert client.post("/signout/").status_code == 403
    assert client.get("/iam/").status_code == 200


def test_csp_forbids_inline_script(client, demo):
    for response in (client.get("/signin/"), sign_in(client), client.get("/iam/encryption-keys/")):
        csp = response["Content-Security-Policy"]
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "'self'" in script_src
        assert "unsafe-inline" not in script_src
        assert "unsafe-eval" not in script_src


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def assert_no_inline_code(html: str) -> None:
    tags = SCRIPT_TAG.findall(html)
    assert tags, "the page loads htmx and console.js"
    assert all("src=" in attrs for attrs in tags), tags
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTR.search(html)


@pytest.mark.parametrize(
    "url",
    [
        "/iam/",
        "/iam/users/",
        "/iam/roles/",
        "/iam/encryption-keys/",
        "/iam/encryption-keys/?settings=1",
        "/iam/encryption-keys/?region=eu-west-1&filter=x",
    ],
)
def test_pages_have_no_inline_script_or_style(client, demo, url):
    client.force_login(demo["Admin"].user)
    response = client.get(url)
    assert response.status_code == 200
    assert_no_inline_code(response.content.decode())


def test_sign_in_page_has_no_inline_script_or_style(client, demo):
    assert_no_inline_code(client.get("/signin/").content.decode())
    assert_no_inline_code(sign_in(client, password="bad").content.decode())


def test_403_page_has_no_inline_script_and_offers_sign_out(client, demo):
    client.force_login(User.objects.create_user("operator", password="not-an-iam-user"))
    html = client.get("/iam/").content.decode()
    assert_no_inline_code(html)
    assert "Sign Out" in html


# ---------------------------------------------------------------- IAM pages


def test_dashboard_shows_the_account_and_its_counts(client, demo, admin):
    from keys.services import keys as key_service

    key_service.create_key(admin, alias="alias/dashboard-test")
    client.force_login(demo["Admin"].user)
    html = client.get("/iam/").content.decode()
    assert MAIN in html
    assert re.search(r"Users</a>\s*<strong>3</strong>", html)
    assert re.search(r"Roles</a>\s*<strong>2</strong>", html)
    # Two AWS managed keys of the seed plus the one created, in the default Region.
    assert re.search(
        r"Encryption keys</a> <span class=\"muted\">in US West \(Oregon\)</span></span>\s*<strong>3</strong>", html
    )
    assert 'href="/iam/encryption-keys/?region=us-west-2"' in html


def test_users_page_lists_the_accounts_users_only(client, demo):
    client.force_login(demo["Admin"].user)
    html = client.get("/iam/users/").content.decode()
    for name in ("Admin", "KMSAdminUser", "KMSUser"):
        assert f"arn:aws:iam::{MAIN}:user/{name}" in html
    assert "AdministratorAccess" in html
    assert "ExternalUser" not in html
    assert "KMSAdminRole" not in html
    assert ":root" not in html


def test_roles_page_lists_the_accounts_roles_only(client, demo):
    client.force_login(demo["Admin"].user)
    html = client.get("/iam/roles/").content.decode()
    assert f"arn:aws:iam::{MAIN}:role/KMSAdminRole" in html
    assert f"arn:aws:iam::{MAIN}:role/KMSRole" in html
    assert "user/" not in html


def test_external_accounts_user_sees_only_its_own_account(client, demo):
    client.force_login(demo["ExternalUser"].user)
    users = client.get("/iam/users/").content.decode()
    assert f"arn:aws:iam::{EXTERNAL}:user/ExternalUser" in users
    assert MAIN not in users
    assert MAIN not in client.get("/iam/roles/").content.decode()
    dashboard = client.get("/iam/").content.decode()
    assert EXTERNAL in dashboard and MAIN not in dashboard


def test_iam_pages_say_global_in_the_top_bar(client, demo):
    client.force_login(demo["Admin"].user)
    html = client.get("/iam/").content.decode()
    assert "<summary>Global</summary>" in html
    assert 'aria-current="page">Dashboard</a>' in html
