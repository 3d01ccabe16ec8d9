"""RS256/ES256 signing, the JWKS, key rotation, and what a token may not choose (issue 12, API.md).

The live-server tests run the README's verification snippet itself (PyJWT's ``PyJWKClient``) against
``/.well-known/jwks.json`` served by a real HTTP server, across a key rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import time
from http import HTTPStatus
from pathlib import Path

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.api.jwks import JWKS_MAX_AGE
from accounts.models import Session
from accounts.signing_keys import (
    KeyConfigError,
    key_id,
    keyring_load,
    private_key_generate,
    private_pem,
    public_pem,
)
from accounts.tokens import pair_for_session
from tenants.audit import AuditEventType
from tests.accounts.signing import keyring, private_key, public_key_pem
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import events, only
from tests.processes import manage

REPO_ROOT = Path(__file__).resolve().parents[2]
ASYMMETRIC = ["RS256", "ES256"]


def header(token: str) -> dict:
    return jwt.get_unverified_header(token)


def me(client, access: str):
    return client.get(f"{AUTH}/me/", **bearer(access))


def refresh(client, token: str):
    return client.post(f"{AUTH}/refresh/", {"refresh": token}, format="json")


@pytest.fixture
def signing(settings):
    """``signing("RS256", 1, previous=(("RS256", 0),))`` switches the service to that key ring."""

    def use(algorithm: str, number: int = 0, previous: tuple = ()):
        settings.JWT_KEYRING = keyring(algorithm, number, previous)
        return settings.JWT_KEYRING

    return use


@pytest.fixture
def pair(api_client, user, org):
    def sign_in() -> dict:
        response = login(api_client, user.email)
        assert response.status_code == HTTPStatus.OK
        return response.json()

    return sign_in


# --- The README snippet, against a live server --------------------------------------------------------


def readme_snippet() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- verify-access-token -->\s*```python\n(.*?)```", readme, re.DOTALL)
    assert match, "README.md lost its verification snippet"
    return match.group(1)


def load_verifier(base_url: str):
    """The README's ``verify_access_token``, pointed at ``base_url`` (a fresh client: a cold key cache)."""
    namespace: dict = {}
    exec(readme_snippet().replace("https://auth.example.com", base_url), namespace)
    return namespace["verify_access_token"]


@pytest.fixture
def later(monkeypatch):
    """``later(seconds)``: the monotonic clock (PyJWKClient's cache and cooldown) moves on."""
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_readme_snippet_verifies_our_access_tokens_across_a_rotation(
    live_server, api_client, user, org, signing, later, algorithm
):
    signing(algorithm, 0)
    old = login(api_client, user.email).json()
    verify = load_verifier(live_server.url)  # one client for the whole rotation, as a service keeps it
    assert verify(old["access"])["user_id"] == str(user.id)

    # Step 1: the new key is published; the old one still signs.
    signing(algorithm, 0, previous=((algorithm, 1),))
    assert verify(login(api_client, user.email).json()["access"])["user_id"] == str(user.id)
    later(JWKS_MAX_AGE)

    # Step 2: the new key signs; the old one stays listed.
    signing(algorithm, 1, previous=((algorithm, 0),))
    new = login(api_client, user.email).json()
    assert header(new["access"])["kid"] != header(old["access"])["kid"]
    assert verify(new["access"])["sid"] == claims(new["access"])["sid"]
    assert verify(old["access"])["sid"] == claims(old["access"])["sid"]

    # The old key dropped: once the client's cache turns over, its tokens no longer verify.
    signing(algorithm, 1)
    later(JWKS_MAX_AGE)
    assert verify(new["access"])["user_id"] == str(user.id)
    with pytest.raises(jwt.PyJWKClientError):
        verify(old["access"])


@pytest.mark.django_db(transaction=True)
def test_a_one_step_rotation_is_seen_by_a_client_after_its_refetch_cooldown(
    live_server, api_client, user, org, signing, later
):
    """Why the rotation has a publish step: a client that fetched the key set moments ago refuses an
    unknown key until its refetch cooldown (PyJWT: 30 s) has passed."""
    signing("RS256", 0)
    verify = load_verifier(live_server.url)
    verify(login(api_client, user.email).json()["access"])
    signing("RS256", 1, previous=(("RS256", 0),))
    token = login(api_client, user.email).json()["access"]

    later(31)
    assert verify(token)["user_id"] == str(user.id)


@pytest.mark.django_db(transaction=True)
def test_readme_snippet_refuses_refresh_tokens_and_foreign_audiences(
    live_server, api_client, user, org, signing
):
    signing("RS256")
    tokens = login(api_client, user.email).json()
    verify = load_verifier(live_server.url)

    with pytest.raises(jwt.InvalidTokenError):
        verify(tokens["refresh"])
    wrong_audience = jwt.encode(
        {**claims(tokens["access"]), "aud": "another-service"},
        private_key("RS256"),
        algorithm="RS256",
        headers={"kid": header(tokens["access"])["kid"]},
    )
    with pytest.raises(jwt.InvalidAudienceError):
        verify(wrong_audience)


# --- JWKS ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_jwks_is_empty_with_hs256_and_tokens_name_no_key(api_client, pair):
    response = api_client.get("/.well-known/jwks.json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"keys": []}
    assert "kid" not in header(pair()["access"])
    assert header(pair()["access"])["alg"] == "HS256"


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_jwks_lists_the_current_key_then_the_previous_ones(api_client, signing, algorithm):
    ring = signing(algorithm, 1, previous=((algorithm, 0), ("RS256", 2)))

    response = api_client.get("/.well-known/jwks.json")

    assert response.status_code == HTTPStatus.OK
    assert "public" in response["Cache-Control"] and "max-age" in response["Cache-Control"]
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == [ring.kid, *(key.kid for key in ring.previous)]
    assert len(keys) == 3
    assert keys[0]["alg"] == algorithm and keys[0]["use"] == "sig"
    assert keys[2]["alg"] == "RS256" and keys[2]["kty"] == "RSA"
    for key in keys:  # public members only
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
        assert jwt.PyJWK(key).key_id == key["kid"]


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_kid_is_the_rfc7638_thumbprint(algorithm):
    public = private_key(algorithm).public_key()
    jwk = (jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm).to_jwk(
        public, as_dict=True
    )
    required = {"RS256": ("e", "kty", "n"), "ES256": ("crv", "kty", "x", "y")}[algorithm]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()

    assert key_id(public) == expected


# --- Signing and verifying ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_asymmetric_pair_names_its_key_and_works(api_client, signing, pair, algorithm):
    ring = signing(algorithm)
    tokens = pair()

    for token in (tokens["access"], tokens["refresh"]):
        assert header(token) == {"alg": algorithm, "kid": ring.kid, "typ": "JWT"}
        verified = jwt.decode(
            token, ring.current.key, algorithms=[algorithm], audience="authsvc", issuer="authsvc"
        )
        assert verified["iss"] == "authsvc" and verified["aud"] == "authsvc"
    assert me(api_client, tokens["access"]).status_code == HTTPStatus.OK
    assert refresh(api_client, tokens["refresh"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_signing_is_deterministic_so_the_grace_window_returns_the_same_pair(
    api_client, signing, pair, algorithm
):
    signing(algorithm)
    tokens = pair()
    session = Session.objects.get(id=claims(tokens["access"])["sid"])
    assert pair_for_session(session) == pair_for_session(session)

    first = refresh(api_client, tokens["refresh"])
    second = refresh(api_client, tokens["refresh"])  # a racing duplicate inside the grace window

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first.json() == second.json()


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_a_token_signed_with_a_previous_key_verifies_while_listed_and_fails_once_dropped(
    api_client, signing, pair, algorithm
):
    signing(algorithm, 0)
    old = pair()

    signing(algorithm, 1, previous=((algorithm, 0),))
    assert me(api_client, old["access"]).status_code == HTTPStatus.OK
    rotated = refresh(api_client, old["refresh"])
    assert rotated.status_code == HTTPStatus.OK
    assert header(rotated.json()["access"])["kid"] == key_id(private_key(algorithm, 1).public_key())

    signing(algorithm, 1)
    response = me(api_client, old["access"])
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
    assert me(api_client, rotated.json()["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_moving_to_another_algorithm_keeps_the_previous_key_verifying(api_client, signing, pair):
    signing("RS256", 0)
    old = pair()
    signing("ES256", 0, previous=(("RS256", 0),))

    assert me(api_client, old["access"]).status_code == HTTPStatus.OK
    assert header(pair()["access"])["alg"] == "ES256"


def _hs256_signed_with(secret: bytes, token: str) -> str:
    """``token``'s claims re-signed as HS256 with ``secret`` as the HMAC key, built by hand (PyJWT
    rightly refuses a PEM key as an HMAC secret)."""
    encode = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    head = encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": header(token)["kid"]}).encode())
    body = encode(json.dumps(claims(token)).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{encode(signature)}"


def _unsigned(token: str) -> str:
    return jwt.encode(claims(token), None, algorithm="none", headers={"kid": header(token)["kid"]})


def _other_algorithm(token: str) -> str:
    """An ES256 token whose kid names our RS256 key."""
    return jwt.encode(
        claims(token), private_key("ES256", 5), algorithm="ES256", headers={"kid": header(token)["kid"]}
    )


def _unknown_key(token: str) -> str:
    return jwt.encode(
        claims(token), private_key("RS256", 5), algorithm="RS256", headers={"kid": header(token)["kid"]}
    )


def _no_kid(token: str) -> str:
    return jwt.encode(claims(token), private_key("RS256", 0), algorithm="RS256")


def _unknown_kid(token: str) -> str:
    return jwt.encode(claims(token), private_key("RS256", 0), algorithm="RS256", headers={"kid": "not-ours"})


def _claims_changed(**changes):
    def forge(token: str) -> str:
        payload = {**claims(token), **changes}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, private_key("RS256", 0), algorithm="RS256", headers={"kid": header(token)["kid"]}
        )

    forge.__name__ = "_" + "_".join(
        f"{name}_{'missing' if value is None else 'wrong'}" for name, value in changes.items()
    )
    return forge


FORGERIES = [
    pytest.param(
        lambda token: _hs256_signed_with(public_key_pem("RS256").encode(), token), id="public_key_as_hmac"
    ),
    pytest.param(_unsigned, id="alg_none"),
    pytest.param(_other_algorithm, id="es256_under_an_rs256_kid"),
    pytest.param(_unknown_key, id="signed_by_another_key"),
    pytest.param(_no_kid, id="no_kid"),
    pytest.param(_unknown_kid, id="unknown_kid"),
    pytest.param(_claims_changed(iss=None), id="iss_missing"),
    pytest.param(_claims_changed(iss="https://evil.example"), id="iss_wrong"),
    pytest.param(_claims_changed(aud=None), id="aud_missing"),
    pytest.param(_claims_changed(aud="another-service"), id="aud_wrong"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("forge", FORGERIES)
def test_forged_tokens_are_refused_under_rs256(api_client, signing, pair, forge):
    signing("RS256", 0)
    tokens = pair()
    sessions = sorted(Session.objects.values_list("id", "refresh_jti", "revoked_at"))

    response = me(api_client, forge(tokens["access"]))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
    response = refresh(api_client, forge(tokens["refresh"]))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sorted(Session.objects.values_list("id", "refresh_jti", "revoked_at")) == sessions
    assert me(api_client, tokens["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_an_rs256_token_is_refused_once_the_service_is_back_on_hs256(api_client, signing, pair, settings):
    signing("RS256")
    tokens = pair()
    signing("HS256")

    assert me(api_client, tokens["access"]).status_code == HTTPStatus.UNAUTHORIZED


# --- Configuration -------------------------------------------------------------------------------------


def _load(**overrides):
    options = {
        "algorithm": "RS256",
        "secret": "s" * 40,
        "private_key": private_pem(private_key("RS256")),
        "previous_public_keys": "",
        "base_dir": REPO_ROOT,
    }
    return keyring_load(**{**options, **overrides})


def test_keys_load_from_files_and_from_one_line_values(tmp_path):
    (tmp_path / "current.pem").write_text(private_pem(private_key("ES256")))
    (tmp_path / "old.pem").write_text(public_key_pem("ES256", 1) + public_key_pem("RS256"))
    escaped = public_key_pem("RS256", 1).replace("\n", "\\n")

    from_files = _load(
        algorithm="ES256",
        private_key=str(tmp_path / "current.pem"),
        previous_public_keys=str(tmp_path / "old.pem"),
    )
    inline = _load(
        algorithm="ES256",
        private_key=private_pem(private_key("ES256")).replace("\n", "\\n"),
        previous_public_keys=escaped,
    )
    relative = _load(algorithm="ES256", private_key="current.pem", base_dir=tmp_path)

    assert from_files.kid == inline.kid == relative.kid == key_id(private_key("ES256").public_key())
    assert [key.algorithm for key in from_files.previous] == ["ES256", "RS256"]
    assert [key.kid for key in inline.previous] == [key_id(private_key("RS256", 1).public_key())]


def test_the_current_key_listed_as_previous_too_is_listed_once():
    ring = _load(previous_public_keys=public_key_pem("RS256"))

    assert ring.previous == ()
    assert len(ring.jwks()["keys"]) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"algorithm": "HS512"}, "JWT_ALGORITHM must be one of"),
        ({"private_key": ""}, "needs JWT_PRIVATE_KEY"),
        ({"algorithm": "ES256"}, "is a key for RS256, but JWT_ALGORITHM is ES256"),
        ({"algorithm": "HS256"}, "JWT_PRIVATE_KEY is set but JWT_ALGORITHM is HS256"),
        ({"private_key": "/nonexistent/key.pem"}, "can't read"),
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"},
            "not an unencrypted",
        ),
        ({"private_key": "plain words, no PEM"}, "can't read"),
        (
            {"previous_public_keys": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
            "not a public key",
        ),
        ({"previous_public_keys": private_pem(private_key("RS256", 1))}, "public keys only"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_unusable_key_settings_are_refused(overrides, message):
    with pytest.raises(KeyConfigError, match=re.escape(message)):
        _load(**overrides)


def test_weak_and_unsupported_keys_are_refused():
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p384 = ec.generate_private_key(ec.SECP384R1())

    with pytest.raises(KeyConfigError, match="1024 bits is too weak"):
        _load(private_key=private_pem(weak))
    with pytest.raises(KeyConfigError, match="use P-256"):
        _load(algorithm="ES256", private_key=private_pem(p384))
    with pytest.raises(KeyConfigError, match="too weak"):
        _load(previous_public_keys=public_pem(weak.public_key()))


def test_startup_refuses_a_bad_key_and_says_why(tmp_path):
    result = manage("check", JWT_ALGORITHM="RS256")

    assert result.returncode != 0
    assert "JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY" in result.stderr


def test_production_with_an_asymmetric_key_needs_no_shared_secret(tmp_path):
    (tmp_path / "key.pem").write_text(private_pem(private_key("ES256")))
    result = manage(
        "check",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="s" * 40,
        ALLOWED_HOSTS="auth.example.com",
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY=str(tmp_path / "key.pem"),
    )

    assert result.returncode == 0, result.stderr
    hs256 = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="s" * 40, ALLOWED_HOSTS="auth.example.com")
    assert hs256.returncode != 0 and "JWT_SIGNING_KEY" in hs256.stderr


# --- manage.py jwt_rotate_key ---------------------------------------------------------------------------


def _printed(out: str) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in out.strip().splitlines() if not line.startswith("#")]


def _load_printed(values: dict[str, str], base_dir: Path):
    return keyring_load(
        algorithm=values["JWT_ALGORITHM"],
        secret="",
        private_key=values["JWT_PRIVATE_KEY"],
        previous_public_keys=values["JWT_PREVIOUS_PUBLIC_KEYS"],
        base_dir=base_dir,
    )


@pytest.mark.django_db
def test_rotate_key_prints_a_publish_step_then_a_signing_step(tmp_path, signing, capsys):
    ring = signing("RS256", 0, previous=(("ES256", 0),))

    call_command("jwt_rotate_key", "--out-dir", str(tmp_path), "--algorithm", "ES256")
    printed = _printed(capsys.readouterr().out)

    assert [name for name, _ in printed] == [
        "JWT_PREVIOUS_PUBLIC_KEYS",
        "JWT_ALGORITHM",
        "JWT_PRIVATE_KEY",
        "JWT_PREVIOUS_PUBLIC_KEYS",
    ]
    step_two = dict(printed[1:])
    assert step_two["JWT_ALGORITHM"] == "ES256"
    assert stat.S_IMODE(os.stat(step_two["JWT_PRIVATE_KEY"]).st_mode) == 0o600
    signing_step = _load_printed(step_two, tmp_path)
    old_kids = [ring.kid, ring.previous[0].kid]
    assert signing_step.kid not in old_kids
    assert [key.kid for key in signing_step.previous] == old_kids

    # Step 1 keeps today's signing key and lists the new one besides it.
    publish_step = keyring_load(
        algorithm="RS256",
        secret="",
        private_key=private_pem(private_key("RS256", 0)),
        previous_public_keys=printed[0][1],
        base_dir=tmp_path,
    )
    assert publish_step.kid == ring.kid
    assert [key.kid for key in publish_step.previous] == [*old_kids[1:], signing_step.kid]

    event = only(AuditEventType.SIGNING_KEY_ROTATED)
    assert event.details == {"algorithm": "ES256", "kid": signing_step.kid, "previous_kids": old_kids}
    assert event.org_id is None and event.actor_user_id is None


@pytest.mark.django_db
def test_rotate_key_inline_prints_one_line_values_that_load(signing, capsys, tmp_path):
    ring = signing("ES256", 0)

    call_command("jwt_rotate_key", "--inline")
    captured = capsys.readouterr()
    printed = _printed(captured.out)

    step_two = dict(printed[1:])
    assert step_two["JWT_ALGORITHM"] == "ES256"  # the current algorithm by default
    assert all("\n" not in value or "\\n" in value for _, value in printed)
    deployed = _load_printed(step_two, tmp_path)
    assert [key.kid for key in deployed.previous] == [ring.kid]
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_rotate_key_off_hs256_has_one_step_and_warns_that_everyone_signs_in_again(tmp_path, capsys):
    call_command("jwt_rotate_key", "--out-dir", str(tmp_path))
    captured = capsys.readouterr()
    printed = dict(_printed(captured.out))

    assert printed["JWT_ALGORITHM"] == "RS256"
    assert printed["JWT_PREVIOUS_PUBLIC_KEYS"] == ""
    assert "every session signs in again" in captured.out
    assert _load_printed(printed, tmp_path).algorithm == "RS256"
    assert [path.name.endswith("-private.pem") for path in tmp_path.iterdir()] == [True]


@pytest.mark.django_db
def test_rotate_key_never_overwrites_a_key(tmp_path, monkeypatch, signing, capsys):
    signing("RS256", 0)
    monkeypatch.setattr(
        "accounts.management.commands.jwt_rotate_key.private_key_generate", lambda _: private_key("RS256", 3)
    )
    call_command("jwt_rotate_key", "--out-dir", str(tmp_path))
    first = sorted((path.name, path.read_text()) for path in tmp_path.iterdir())

    with pytest.raises(CommandError, match="can't write the key files"):
        call_command("jwt_rotate_key", "--out-dir", str(tmp_path))

    assert sorted((path.name, path.read_text()) for path in tmp_path.iterdir()) == first
    assert len(events(type=AuditEventType.SIGNING_KEY_ROTATED)) == 1


def test_generated_keys_are_of_the_asked_algorithm():
    from accounts.signing_keys import algorithm_of

    assert algorithm_of(private_key_generate("RS256")) == "RS256"
    assert algorithm_of(private_key_generate("ES256")) == "ES256"
    with pytest.raises(KeyConfigError):
        private_key_generate("HS256")
