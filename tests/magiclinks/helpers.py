"""Endpoints, and reading what the emailed-link flows sent: the link, its token, the code."""

from __future__ import annotations

import re
from http import HTTPStatus

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from tests.api import AUTH

MAGIC_REQUEST = f"{AUTH}/magic-link/request/"
MAGIC_VERIFY = f"{AUTH}/magic-link/verify/"
EMAIL_VERIFY_REQUEST = f"{AUTH}/email/verify/request/"
EMAIL_VERIFY = f"{AUTH}/email/verify/"
PASSWORD_CHANGE = f"{AUTH}/password/change/"
PASSWORD_FORGOT = f"{AUTH}/password/forgot/"
PASSWORD_RESET_VALIDATE = f"{AUTH}/password/reset/validate/"
PASSWORD_RESET = f"{AUTH}/password/reset/"
REGISTER = f"{AUTH}/register/"
ME = f"{AUTH}/me/"

SIGN_IN_LINK_SENT = {"detail": "If the address can sign in, a link has been sent."}
RESET_LINK_SENT = {"detail": "If the email exists, a reset link has been sent."}
TOKEN_RE = r"[A-Za-z0-9_-]{43}"  # 256 bits, URL-safe base64 without padding
NEW_PASSWORD = "a brand new passphrase 42"


def post(client, url: str, body: dict | None = None, **extra):
    return client.post(url, body if body is not None else {}, format="json", **extra)


def magic_prefix() -> str:
    return f"{settings.FRONTEND_URL}/auth/magic/"


def reset_prefix() -> str:
    return f"{settings.FRONTEND_URL}/auth/reset/"


def verify_prefix() -> str:
    return f"{settings.FRONTEND_URL}/auth/verify-email/"


def only_mail(outbox: list, to: str) -> EmailMultiAlternatives:
    """The one message in ``outbox`` (fails unless it holds exactly one, to ``to``)."""
    assert len(outbox) == 1, [(m.to, m.subject) for m in outbox]
    message = outbox[0]
    assert message.to == [to]
    return message


def link_in(message: EmailMultiAlternatives) -> str:
    """The one link in the text body; the HTML body carries the same one."""
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    html = message.alternatives[0][0]
    assert f'href="{links[0].replace("&", "&amp;")}"' in html
    return links[0]


def token_in(message: EmailMultiAlternatives, prefix: str) -> str:
    """The token of the message's link ``<prefix><token>``."""
    link = link_in(message)
    assert link.startswith(prefix), (link, prefix)
    token = link.removeprefix(prefix)
    assert re.fullmatch(TOKEN_RE, token), link
    return token


def code_in(message: EmailMultiAlternatives) -> str:
    match = re.search(r"Enter this code instead: (\d{6})\s", message.body)
    assert match, message.body
    return match.group(1)


def request_magic_link(client, outbox: list, email: str, **body) -> tuple[str, str]:
    """Ask for a sign-in link to ``email``; the (token, code) of the mail it sent (the outbox is emptied)."""
    outbox.clear()
    response = post(client, MAGIC_REQUEST, {"email": email, **body})
    assert response.status_code == HTTPStatus.ACCEPTED, response.content
    message = only_mail(outbox, email)
    outbox.clear()
    return token_in(message, magic_prefix()), code_in(message)


def request_reset_link(client, outbox: list, email: str) -> str:
    """Ask for a password-reset link to ``email``; its token (the outbox is emptied)."""
    outbox.clear()
    response = post(client, PASSWORD_FORGOT, {"email": email})
    assert response.status_code == HTTPStatus.OK, response.content
    token = token_in(only_mail(outbox, email), reset_prefix())
    outbox.clear()
    return token


def assert_token_invalid(response) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response.json()["code"] == "token_invalid"
