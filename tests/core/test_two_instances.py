"""Two app instances on one Postgres and one Redis, no sticky sessions: what one does, the other knows
at once — a logout, a spent refresh token, a throttle count.

Both are gunicorn servers of the same release (as behind a load balancer), on a private Postgres, reached
directly or (second variant) through PgBouncer in transaction mode with the runtime role's own login;
Redis is a private redis-server the test starts (without the binary the test is skipped: throttle sharing
needs one).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.client import Api
from bench.seed import migrate
from bench.server import PrivateRedis, gunicorn
from tests.servers import SIGNUP, pgbouncer, served_env

POOL_SIZE = 2  # PgBouncer's server connections, fewer than the instances' clients: they take turns
LOGIN_RATE = 4  # per minute and network, shared by both instances


@pytest.fixture
def redis_url():
    """A private redis-server (bench.server.PrivateRedis), never the machine's: the throttle counters of
    both instances."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = PrivateRedis()
    redis.start()
    yield redis.url
    redis.stop()


@pytest.fixture(params=["direct", "pgbouncer"])
def database(request, private_postgres, tmp_path):
    """How the instances reach Postgres: directly (the owner's URL, ``assume_role``), or through PgBouncer
    in transaction mode with the runtime role's own login, migrations by the owner directly, and the hot
    statements not prepared (README "Deployment")."""
    if request.param == "direct":
        yield {}
        return
    with pgbouncer(private_postgres, tmp_path / "pgbouncer", pool_size=POOL_SIZE) as url:
        yield {
            "DATABASE_URL": url,
            "DATABASE_MIGRATE_URL": private_postgres.get_uri("postgres"),
            "DATABASE_PREPARED_STATEMENTS": "0",
        }


@pytest.fixture
def two_instances(private_postgres, database, redis_url, tmp_path):
    env = served_env(
        private_postgres,
        **database,
        REDIS_URL=redis_url,
        JWT_REFRESH_REUSE_GRACE_SECONDS="0",  # any second use of a refresh token is a replay
        AUTH_THROTTLE_RATES=f"login={LOGIN_RATE}/min,login_email=1000/s,login_email_network=1000/s,"
        "register=1000/s,register_email=1000/s,refresh=1000/s",
    )
    migrate(env)
    with (
        gunicorn(env, workers=1, log_path=tmp_path / "a.log") as a,
        gunicorn(env, workers=1, log_path=tmp_path / "b.log") as b,
    ):
        yield Api(a), Api(b)


def test_what_one_instance_does_the_other_knows_at_once(two_instances):
    a, b = two_instances
    status, pair = a.call("POST", "/api/auth/register/", SIGNUP)
    assert status == 201, pair

    # A session made on A is live on B.
    assert b.call("GET", "/api/auth/me/", token=pair["access"])[0] == 200

    # A refresh rotated on A, then replayed on B: detected, the whole session ends (on both).
    status, rotated = a.call("POST", "/api/auth/refresh/", {"refresh": pair["refresh"]})
    assert status == 200
    status, body = b.call("POST", "/api/auth/refresh/", {"refresh": pair["refresh"]})
    assert (status, body["code"]) == (401, "token_not_valid")
    assert a.call("POST", "/api/auth/refresh/", {"refresh": rotated["refresh"]})[0] == 401
    assert a.call("GET", "/api/auth/me/", token=rotated["access"])[0] == 401

    # A logout on A is refused on B on its next request.
    login = {"email": SIGNUP["email"], "password": SIGNUP["password"]}
    status, fresh = b.call("POST", "/api/auth/login/", login)
    assert status == 200
    assert b.call("GET", "/api/auth/me/", token=fresh["access"])[0] == 200
    assert a.call("POST", "/api/auth/logout/", token=fresh["access"])[0] == 204
    assert b.call("GET", "/api/auth/me/", token=fresh["access"])[0] == 401


def test_the_throttle_counts_requests_to_either_instance(two_instances):
    a, b = two_instances
    wrong = {"email": "nobody@example.com", "password": "not the password at all"}
    statuses = [(a, b)[i % 2].call("POST", "/api/auth/login/", wrong)[0] for i in range(LOGIN_RATE + 2)]

    assert statuses[:LOGIN_RATE] == [401] * LOGIN_RATE  # invalid_credentials, alternately on A and B
    assert statuses[LOGIN_RATE:] == [429, 429]  # the bucket is one, whichever instance answers


def test_each_org_sees_only_its_own_rows_while_connections_are_shared(two_instances):
    """Many clients of both instances, two orgs, fewer server connections than clients (behind PgBouncer a
    transaction runs on whichever server connection is free): the tenant context is the transaction's own,
    so no answer ever holds the other org's rows."""
    a, b = two_instances
    tokens = {}
    for name in ("Acme", "Globex"):
        signup = {**SIGNUP, "email": f"owner@{name.lower()}.example", "organization_name": name}
        status, pair = a.call("POST", "/api/auth/register/", signup)
        assert status == 201, pair
        tokens[name] = pair["access"]

    def members(n: int) -> tuple[str, int, set[str]]:
        name = ("Acme", "Globex")[n % 2]
        status, body = (a, b)[n // 2 % 2].call("GET", "/api/auth/org/members/", token=tokens[name])
        return name, status, {row["user"]["email"] for row in body} if status == 200 else set()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(members, range(400)))

    assert {status for _, status, _ in answers} == {200}
    for name, _, emails in answers:
        assert emails == {f"owner@{name.lower()}.example"}
