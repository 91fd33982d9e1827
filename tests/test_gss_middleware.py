"""The aiohttp Negotiate middleware, with in-process tickets (no KDC, no MIT)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import test_utils, web

from has_kdc.gss import (
    KRB5_OID,
    Acceptor,
    GssFlags,
    Krb5Acceptor,
    NegotiateInitiator,
    NegTokenInit,
    decode_negotiation_token,
    negotiate_header,
    parse_negotiate,
)
from has_kdc.web.errors import ApiError
from has_kdc.web.negotiate import NegotiateAuthenticator, negotiate_middleware
from tests.gss_fakes import SERVICE, FakeKeys, make_service_ticket, random_key

ADMIN = "alice@HADOOP.COM"


def run(scenario: Callable[[test_utils.TestClient], Awaitable[None]], acceptor: Acceptor) -> None:
    async def whoami(request: web.Request) -> web.Response:
        return web.json_response({"principal": request["principal"]})

    async def gone(request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text="no such principal")

    async def public(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(
        middlewares=[negotiate_middleware(acceptor, lambda r: r.path.startswith("/admin"), {ADMIN})]
    )
    app.router.add_get("/admin/whoami", whoami)
    app.router.add_get("/admin/gone", gone)
    app.router.add_get("/public", public)

    async def main() -> None:
        async with test_utils.TestClient(test_utils.TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


@pytest.fixture
def service_key():
    return random_key(18)


@pytest.fixture
def acceptor(service_key):
    return Acceptor(Krb5Acceptor(FakeKeys({(SERVICE, 1): service_key})))


def test_admin_gets_200_with_mutual_token(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key))

    async def scenario(client: test_utils.TestClient) -> None:
        r = await client.get("/admin/whoami", headers={"Authorization": init.authorization()})
        assert r.status == 200
        assert await r.json() == {"principal": ADMIN}
        init.verify(r.headers["WWW-Authenticate"])

    run(scenario, acceptor)
    assert init.established


def test_missing_and_invalid_authorization(acceptor, service_key):
    async def scenario(client: test_utils.TestClient) -> None:
        for headers in ({}, {"Authorization": "Basic dTpw"}):
            r = await client.get("/admin/whoami", headers=headers)
            assert (r.status, r.headers["WWW-Authenticate"]) == (401, "Negotiate")
            assert (await r.json())["error"] == "unauthorized"
        r = await client.get("/admin/whoami", headers={"Authorization": "Negotiate bm9wZQ=="})
        assert (r.status, r.headers["WWW-Authenticate"]) == (401, "Negotiate")
        assert "Kerberos authentication failed" in (await r.json())["message"]
        # A ticket under another key: 401 and a reason, with no key material in it.
        other = NegotiateInitiator(make_service_ticket(random_key(18)))
        r = await client.get("/admin/whoami", headers={"Authorization": other.authorization()})
        body = await r.json()
        assert r.status == 401 and "does not decrypt" in body["message"]

    run(scenario, acceptor)


def test_replayed_header_is_refused(acceptor, service_key):
    header = NegotiateInitiator(make_service_ticket(service_key)).authorization()

    async def scenario(client: test_utils.TestClient) -> None:
        assert (await client.get("/admin/whoami", headers={"Authorization": header})).status == 200
        r = await client.get("/admin/whoami", headers={"Authorization": header})
        assert r.status == 401 and "replay" in (await r.json())["message"]

    run(scenario, acceptor)


def test_non_admin_forbidden(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key, client="bob"))

    async def scenario(client: test_utils.TestClient) -> None:
        r = await client.get("/admin/whoami", headers={"Authorization": init.authorization()})
        assert r.status == 403
        assert await r.json() == {
            "error": "forbidden",
            "message": "bob@HADOOP.COM is not an administrator",
        }
        init.verify(r.headers["WWW-Authenticate"])

    run(scenario, acceptor)


def test_handler_exception_keeps_mutual_token(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key))

    async def scenario(client: test_utils.TestClient) -> None:
        r = await client.get("/admin/gone", headers={"Authorization": init.authorization()})
        assert r.status == 404
        init.verify(r.headers["WWW-Authenticate"])

    run(scenario, acceptor)


def test_unprotected_path_untouched(acceptor):
    async def scenario(client: test_utils.TestClient) -> None:
        r = await client.get("/public")
        assert r.status == 200 and "WWW-Authenticate" not in r.headers

    run(scenario, acceptor)


def test_spnego_second_round_is_a_401_with_token(acceptor, service_key):
    ntlm_first = NegTokenInit(mech_types=("1.3.6.1.4.1.311.2.2.10", KRB5_OID), mech_token=b"x")
    init = NegotiateInitiator(make_service_ticket(service_key), flags=GssFlags.INTEG)

    async def scenario(client: test_utils.TestClient) -> None:
        header = negotiate_header(ntlm_first.encode())
        r = await client.get("/admin/whoami", headers={"Authorization": header})
        assert r.status == 401
        reply = decode_negotiation_token(parse_negotiate(r.headers["WWW-Authenticate"]))
        assert reply.supported_mech == KRB5_OID
        r = await client.get("/admin/whoami", headers={"Authorization": init.authorization()})
        assert r.status == 200

    run(scenario, acceptor)


def test_negotiate_authenticator_for_the_web_auth_slot(acceptor, service_key):
    auth = NegotiateAuthenticator(acceptor)
    init = NegotiateInitiator(make_service_ticket(service_key))

    def call(headers: dict[str, str]):
        request = test_utils.make_mocked_request("GET", "/has/v1/admin", headers=headers)
        return asyncio.run(auth(request))

    assert call({}) is None
    result = call({"Authorization": init.authorization()})
    assert result.principal == ADMIN
    init.verify(result.response_headers["WWW-Authenticate"])
    with pytest.raises(ApiError) as info:
        call({"Authorization": "Negotiate bm9wZQ=="})
    assert info.value.status == 401
    assert info.value.headers == {"WWW-Authenticate": "Negotiate"}
