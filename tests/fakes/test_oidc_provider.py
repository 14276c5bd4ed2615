"""fakes/oidc_provider.py over real HTTP, as a relying party speaks to it.

The client side is urllib and authlib's JOSE only, so a provider that answered
in a way a relying party cannot read, or signed with a key it does not
publish, fails here before the hub's login tests meet it.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken

from fakes.oidc_provider import OIDCProvider

CLIENT, SECRET = "hub", "s3cret-for-tests"
REDIRECT = "http://127.0.0.1:9/hub/oauth_callback"
ALICE = {"eduperson_entitlement": ["urn:x:group:a"], "email": "alice@example.org"}
FULL_SCOPE = "openid profile email eduperson_entitlement"


class Answer:
    """An HTTP answer, error statuses included; redirects are not followed."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(
    url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> Answer:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(req, timeout=10) as r:
            return Answer(r.status, r.headers, r.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@pytest.fixture
def idp() -> Iterator[OIDCProvider]:
    with OIDCProvider() as provider:
        provider.register_client(CLIENT, SECRET, [REDIRECT])
        provider.users["alice"] = json.loads(json.dumps(ALICE))
        provider.users["bob"] = {}
        yield provider


def authorize_url(idp: OIDCProvider, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": FULL_SCOPE,
        "state": "state-1",
        "nonce": "nonce-1",
        **params,
    }
    return idp.endpoints()["authorize_url"] + "?" + urllib.parse.urlencode(query)


def callback_params(answer: Answer) -> dict[str, str]:
    """The query of a 302 to the client's redirect_uri."""
    assert answer.status == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?"), location
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def login(idp: OIDCProvider, username: str = "alice", **params: str) -> dict[str, str]:
    """GET the login page, POST the username: the redirect's code and state."""
    url = authorize_url(idp, **params)
    assert fetch(url).status == 200
    return callback_params(fetch(url, {"username": username}))


def redeem(
    idp: OIDCProvider,
    code: str,
    method: str = "client_secret_basic",
    secret: str = SECRET,
    **extra: str,
) -> Answer:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form.update(extra)
    token_url = idp.endpoints()["token_url"]
    if method == "client_secret_basic":
        return fetch(token_url, form, basic(CLIENT, secret))
    return fetch(token_url, {**form, "client_id": CLIENT, "client_secret": secret})


def userinfo(idp: OIDCProvider, access_token: str) -> Answer:
    return fetch(idp.endpoints()["userdata_url"], headers=bearer(access_token))


def verified_id_token(idp: OIDCProvider, token: dict[str, Any], nonce: str) -> Any:
    """The id_token's claims, checked as a relying party checks them."""
    discovery = fetch(idp.url + "/.well-known/openid-configuration").json()
    keys = JsonWebKey.import_key_set(fetch(discovery["jwks_uri"]).json())
    claims = JsonWebToken(["RS256"]).decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": idp.url},
            "aud": {"essential": True, "value": CLIENT},
        },
        claims_params={
            "nonce": nonce,
            "client_id": CLIENT,
            "access_token": token["access_token"],
        },
    )
    claims.validate()
    return claims


class FormParser(HTMLParser):
    """Attributes of every form, input and button of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("form", "input", "button"):
            self.tags.setdefault(tag, []).append(dict(attrs))


def test_discovery_document_names_the_served_endpoints(idp):
    doc = fetch(idp.url + "/.well-known/openid-configuration").json()

    assert idp.url.startswith("http://127.0.0.1:") and not idp.url.endswith("/")
    assert doc["issuer"] == idp.url
    assert doc["authorization_endpoint"] == idp.endpoints()["authorize_url"]
    assert doc["token_endpoint"] == idp.endpoints()["token_url"]
    assert doc["userinfo_endpoint"] == idp.endpoints()["userdata_url"]
    assert doc["jwks_uri"] == idp.url + "/jwks"
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "profile", "email", "eduperson_entitlement"} <= set(
        doc["scopes_supported"]
    )
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    keys = fetch(doc["jwks_uri"]).json()["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [("RSA", "RS256", "sig")]
    assert "d" not in keys[0]  # the public half only


def test_authorize_shows_a_login_form_that_posts_back_with_the_query(idp):
    url = authorize_url(idp)
    answer = fetch(url)

    assert answer.status == 200
    assert answer.headers.get_content_type() == "text/html"
    parser = FormParser()
    parser.feed(answer.text)
    [form] = parser.tags["form"]
    assert form["method"] == "post"
    assert form["action"] == url.removeprefix(idp.url)
    [field] = parser.tags["input"]
    assert (field["name"], field["id"]) == ("username", "username")
    [button] = parser.tags["button"]
    assert (button["id"], button["type"]) == ("login", "submit")


def test_code_flow_with_client_secret_basic(idp):
    callback = login(idp, state="xyz", nonce="n-123")
    assert callback["state"] == "xyz"

    answer = redeem(idp, callback["code"], "client_secret_basic")
    assert answer.status == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
    claims = verified_id_token(idp, token, nonce="n-123")
    assert claims.header["alg"] == "RS256"
    assert claims["iss"] == idp.url
    assert claims["aud"] == CLIENT
    assert claims["nonce"] == "n-123"
    assert claims["sub"] == claims["preferred_username"] == "alice"
    assert claims["iat"] <= claims["exp"]

    info = userinfo(idp, token["access_token"]).json()
    assert info["sub"] == info["preferred_username"] == "alice"
    assert info["eduperson_entitlement"] == ALICE["eduperson_entitlement"]
    assert info["email"] == ALICE["email"]
    assert info["name"]

    # Read at request time: the next call sees a changed entry.
    idp.users["alice"]["eduperson_entitlement"] = ["urn:x:group:b"]
    again = userinfo(idp, token["access_token"]).json()
    assert again["eduperson_entitlement"] == ["urn:x:group:b"]


def test_code_flow_with_client_secret_post_and_a_single_use_code(idp):
    callback = login(idp, "bob", nonce="n-bob")

    answer = redeem(idp, callback["code"], "client_secret_post")
    assert answer.status == 200, answer.text
    token = answer.json()
    assert verified_id_token(idp, token, nonce="n-bob")["sub"] == "bob"
    assert userinfo(idp, token["access_token"]).json()["preferred_username"] == "bob"

    reused = redeem(idp, callback["code"], "client_secret_post")
    assert (reused.status, reused.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_wrong_client_secret_is_401_invalid_client(idp, method):
    code = login(idp)["code"]

    answer = redeem(idp, code, method, secret="not-" + SECRET)

    assert (answer.status, answer.json()["error"]) == (401, "invalid_client")
    assert "access_token" not in answer.json()


def test_an_unknown_user_is_refused_with_the_name_escaped(idp):
    answer = fetch(authorize_url(idp), {"username": "<b>mallory</b>"})

    assert answer.status == 403
    assert answer.headers.get_content_type() == "text/html"
    assert "unknown user &lt;b&gt;mallory&lt;/b&gt;" in answer.text
    assert "<b>mallory" not in answer.text
    assert "Location" not in answer.headers


def test_with_newcomers_set_any_name_logs_in_with_those_claims(idp):
    """`make demo`'s provider: anyone gets in, with the demo's entitlements,
    each newcomer with a copy of them."""
    idp.newcomers = {"eduperson_entitlement": ["urn:demo:users"]}
    token = redeem(idp, login(idp, username="zoe")["code"]).json()
    info = userinfo(idp, token["access_token"]).json()
    assert info["preferred_username"] == "zoe"
    assert info["eduperson_entitlement"] == ["urn:demo:users"]
    idp.users["zoe"]["eduperson_entitlement"].append("urn:demo:extra")
    assert idp.newcomers == {"eduperson_entitlement": ["urn:demo:users"]}
    url = authorize_url(idp)
    assert fetch(url, {"username": " "}).status == 403  # a name is still needed


def test_claims_follow_the_scope(idp):
    token = redeem(idp, login(idp, scope="openid profile email")["code"]).json()
    info = userinfo(idp, token["access_token"]).json()
    assert "eduperson_entitlement" not in info
    assert info["email"] == ALICE["email"]

    token = redeem(idp, login(idp, scope="openid")["code"]).json()
    info = userinfo(idp, token["access_token"]).json()
    assert info == {"sub": "alice"}


def test_pkce_s256_is_enforced(idp):
    verifier = "v" * 43
    challenge = create_s256_code_challenge(verifier)
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}

    # Distinct nonces: a code that was never redeemed still holds its nonce.
    code = login(idp, nonce="n-1", **pkce)["code"]
    wrong = redeem(idp, code, code_verifier="w" * 43)
    missing = redeem(idp, login(idp, nonce="n-2", **pkce)["code"])
    right = redeem(idp, login(idp, nonce="n-3", **pkce)["code"], code_verifier=verifier)

    assert (wrong.status, wrong.json()["error"]) == (400, "invalid_grant")
    assert (missing.status, missing.json()["error"]) == (400, "invalid_request")
    assert right.status == 200, right.text


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"client_id": "stranger"}, "invalid_client"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "invalid_request"),
    ],
)
def test_a_bad_client_or_redirect_uri_is_refused_without_redirecting(
    idp, params, error
):
    answer = fetch(authorize_url(idp, **params))

    assert answer.status == 400
    assert "Location" not in answer.headers
    assert answer.json()["error"] == error


def test_a_scope_without_openid_is_sent_back_to_the_client(idp):
    answer = fetch(authorize_url(idp, scope="profile email", state="s-9"))

    params = callback_params(answer)
    assert (params["error"], params["state"]) == ("invalid_scope", "s-9")
    assert "code" not in params


def test_userinfo_needs_a_valid_bearer_token(idp):
    assert userinfo(idp, "no-such-token").status == 401
    assert fetch(idp.endpoints()["userdata_url"]).status == 401


def test_requests_records_every_request_in_order(idp):
    callback = login(idp)
    token = redeem(idp, callback["code"]).json()
    userinfo(idp, token["access_token"])
    fetch(idp.url + "/nowhere?secret=1")

    assert idp.requests == [
        ("GET", "/authorize"),
        ("POST", "/authorize"),
        ("POST", "/token"),
        ("GET", "/userinfo"),
        ("GET", "/nowhere"),
    ]


def test_nothing_is_logged_even_at_debug_level(idp, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    callback = login(idp)
    token = redeem(idp, callback["code"]).json()
    userinfo(idp, token["access_token"])
    redeem(idp, "bogus", secret="wrong")

    assert [r.getMessage() for r in caplog.records] == []
    assert capfd.readouterr() == ("", "")


def test_exit_stops_serving():
    with OIDCProvider() as provider:
        port = urllib.parse.urlsplit(provider.url).port
        assert fetch(provider.url + "/jwks").status == 200

    assert "oidc-provider" not in [t.name for t in threading.enumerate()]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
        pass
