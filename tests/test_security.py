"""R22: security headers and cookies. R24: login lockout after 3 failures (django-axes).

Requests are made with secure=True, as behind TLS in production: HSTS is only sent on HTTPS.
"""

import re
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse

from opsdesk.core.models import SecurityEvent
from opsdesk.core.roles import Role

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
HTML_PAGES = [LOGIN_URL, "/accounts/password/reset/", "/admin/login/", "/no-such-page/"]
PAGES = [*HTML_PAGES, "/healthz"]

# Addresses from the documentation ranges (RFC 5737).
ADDRESS_A = "203.0.113.10"
ADDRESS_B = "198.51.100.20"


class _Tags(HTMLParser):
    """The start tags of a page, as (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in directives}


def _login(client: Client, username: str, password: str, address: str, **extra):
    return client.post(
        LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


# R22 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_the_security_headers(client, url):
    response = client.get(url, secure=True)

    assert response.status_code in (200, 404)
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]


@pytest.mark.parametrize("url", HTML_PAGES)
def test_every_script_is_same_origin_or_carries_the_nonce(client, url):
    response = client.get(url, secure=True)

    html = response.content.decode()
    scripts = [attrs for tag, attrs in _tags(html) if tag == "script"]
    assert scripts
    nonces = re.findall(r"'nonce-([^']+)'", " ".join(_csp(response)["script-src"]))
    for attrs in scripts:
        src = attrs.get("src")
        if src is None:
            # Inline: runs only with this response's nonce.
            assert attrs.get("nonce") in nonces, attrs
        else:
            assert src.startswith("/") and not src.startswith("//"), src
    # No inline event handlers or javascript: links, which no nonce can allow.
    for _tag, attrs in _tags(html):
        assert not [name for name in attrs if name.startswith("on")], attrs
        assert not str(attrs.get("href") or "").lower().startswith("javascript:"), attrs


def test_the_nonce_is_fresh_and_reaches_the_page_scripts(client):
    first = client.get(LOGIN_URL, secure=True)
    second = client.get(LOGIN_URL, secure=True)

    nonce = re.search(r"'nonce-([^']+)'", first.headers["Content-Security-Policy"]).group(1)
    assert len(nonce) >= 16
    assert f'nonce="{nonce}"' in first.content.decode()
    assert nonce not in second.headers["Content-Security-Policy"]


@pytest.mark.parametrize("url", [LOGIN_URL, "/accounts/password/reset/", "/no-such-page/"])
def test_own_pages_use_no_inline_styles(client, url):
    # style-src 'self' ignores style attributes: layout must come from classes.
    html = client.get(url, secure=True).content.decode()

    assert not [attrs for _tag, attrs in _tags(html) if "style" in attrs]
    assert "<style" not in html


def test_http_is_redirected_to_https_except_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # production's default; the test settings turn it off

    response = client.get(LOGIN_URL)
    health = client.get("/healthz")

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://testserver{LOGIN_URL}"
    assert health.status_code == 200


def test_csrf_cookie_is_secure_httponly_and_samesite(client):
    response = client.get(LOGIN_URL, secure=True)

    cookie = response.cookies["csrftoken"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_cookies_after_login_are_secure_httponly_and_samesite(
    client, role_user, role_user_password
):
    user = role_user(Role.FULFILLMENT)

    response = _login(client, user.username, role_user_password, ADDRESS_A, secure=True)

    assert response.status_code == 302
    for name in ("sessionid", "csrftoken"):  # the CSRF token is rotated at login
        cookie = response.cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name


# Login ------------------------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    assert "registration/login.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert reverse("password_reset") in html


def test_login_redirects_to_the_start_page(client, role_user, role_user_password):
    user = role_user(Role.ORDER_REVIEWER)

    response = _login(client, user.username, role_user_password, ADDRESS_A)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_shows_the_form_again(client, role_user):
    user = role_user(Role.ORDER_REVIEWER)

    response = _login(client, user.username, "not-the-password", ADDRESS_A)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


# R24 --------------------------------------------------------------------------------------


def _lock_out(username: str, address: str) -> list:
    client = Client()
    return [_login(client, username, "wrong-password", address) for _ in range(3)]


def test_three_wrong_passwords_lock_that_user_from_that_address_only(role_user, role_user_password):
    pat = role_user(Role.FULFILLMENT, username="pat")
    sam = role_user(Role.FULFILLMENT, username="sam")

    responses = _lock_out(pat.username, ADDRESS_A)
    lockouts = list(SecurityEvent.objects.filter(type=SecurityEvent.Type.LOCKED_OUT))
    right_password = Client()
    refused = _login(right_password, pat.username, role_user_password, ADDRESS_A)
    other_address = Client()
    from_b = _login(other_address, pat.username, role_user_password, ADDRESS_B)
    other_user = Client()
    sam_from_a = _login(other_user, sam.username, role_user_password, ADDRESS_A)

    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert responses[2].status_code == 429
    assert refused.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in refused.templates]
    assert "Account locked" in refused.content.decode()
    assert "_auth_user_id" not in right_password.session
    assert from_b.status_code == 302
    assert other_address.session["_auth_user_id"] == str(pat.pk)
    assert sam_from_a.status_code == 302
    assert other_user.session["_auth_user_id"] == str(sam.pk)
    assert [(e.username, e.ip_address, e.actor) for e in lockouts] == [("pat", ADDRESS_A, None)]
    # Attempts refused while locked do not record the lockout again.
    later = SecurityEvent.objects.filter(type=SecurityEvent.Type.LOCKED_OUT)
    assert [(e.username, e.ip_address) for e in later] == [("pat", ADDRESS_A)]


def test_unlocking_on_the_lockouts_page_lets_the_user_in_and_records_who(
    role_user, role_user_password, staff_client_for
):
    pat = role_user(Role.FULFILLMENT, username="pat")
    _lock_out(pat.username, ADDRESS_A)
    attempt = AccessAttempt.objects.get(username="pat", ip_address=ADDRESS_A)
    admin = staff_client_for(Role.ADMIN)

    response = admin.post(reverse("core:lockout_clear", args=[attempt.pk]))
    client = Client()
    login = _login(client, pat.username, role_user_password, ADDRESS_A)

    assert response.status_code == 302
    assert response.headers["Location"] == reverse("core:lockouts")
    assert login.status_code == 302
    assert client.session["_auth_user_id"] == str(pat.pk)
    unlocked = SecurityEvent.objects.get(type=SecurityEvent.Type.UNLOCKED)
    assert (unlocked.username, unlocked.ip_address, unlocked.actor) == (
        "pat",
        ADDRESS_A,
        admin.user,
    )


def test_only_admin_or_owner_may_unlock(role_user, staff_client_for):
    pat = role_user(Role.FULFILLMENT, username="pat")
    _lock_out(pat.username, ADDRESS_A)
    attempt = AccessAttempt.objects.get(username="pat", ip_address=ADDRESS_A)
    manager = staff_client_for(Role.MANAGER)

    response = manager.post(reverse("core:lockout_clear", args=[attempt.pk]))

    assert response.status_code == 403
    assert "Admin" in response.content.decode()
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.UNLOCKED).exists()


def test_unlock_refuses_get(role_user, staff_client_for):
    pat = role_user(Role.FULFILLMENT, username="pat")
    _lock_out(pat.username, ADDRESS_A)
    attempt = AccessAttempt.objects.get(username="pat", ip_address=ADDRESS_A)

    response = staff_client_for(Role.ADMIN).get(reverse("core:lockout_clear", args=[attempt.pk]))

    assert response.status_code == 405
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_lockouts_page_lists_the_locked_user_with_an_unlock_button(role_user, staff_client_for):
    pat = role_user(Role.FULFILLMENT, username="pat")
    _lock_out(pat.username, ADDRESS_A)
    attempt = AccessAttempt.objects.get(username="pat", ip_address=ADDRESS_A)

    response = staff_client_for(Role.OWNER).get(reverse("core:lockouts"))

    assert response.status_code == 200
    html = response.content.decode()
    assert ADDRESS_A in html
    assert f'action="{reverse("core:lockout_clear", args=[attempt.pk])}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Locked out" in html  # the recorded event


def test_password_reset_sends_text_and_html_mail_whose_link_sets_a_new_password(client, role_user):
    user = role_user(Role.FULFILLMENT, email="pat@example.com")

    response = client.post(reverse("password_reset"), {"email": "pat@example.com"})

    assert response.status_code == 302
    assert response.headers["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == ["pat@example.com"]
    assert "<" not in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    assert f'href="http://testserver{link}"' in html
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-77", "new_password2": "a-new-long-password-77"},
    )
    assert done.headers["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("a-new-long-password-77")


def test_a_used_password_reset_link_says_so(client):
    response = client.get(
        reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "bad-token"})
    )

    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert "invalid" in response.content.decode()


def test_client_ip_ignores_forwarded_for_without_proxies(rf, settings):
    from opsdesk.core.clientip import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    settings.PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"
