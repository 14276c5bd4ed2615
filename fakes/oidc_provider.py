"""A loopback OpenID Connect provider: the institution's login, for tests and demo.

The hub logs users in with oauthenticator's GenericOAuthenticator against the
institution's OIDC provider (values/cerit.yaml), and takes their groups from
the ``eduperson_entitlement`` claim. No such provider is reachable here, so
the tests and ``make demo`` need one on loopback that speaks the protocol as a
real one does. The protocol is authlib's server side, not ours: the
authorization code grant with client_secret_basic and client_secret_post,
PKCE (GenericOAuthenticator sends a code_challenge by default), the OpenID
Connect id_token (RS256) and the bearer-protected userinfo endpoint. This
module keeps clients, codes and tokens in memory and draws the login page.

Where it differs from a real provider, on purpose:

- no passwords: the login page asks for a username only, any name in
  ``users`` logs in and any other gets 403. There are no sessions (every
  authorization shows the login page) and no consent page;
- plain HTTP on 127.0.0.1; no refresh tokens, no dynamic registration, no
  logout; codes live 10 minutes (single use), access tokens one hour;
- userinfo claims are read from ``users`` at each request, so a test can
  change a user's entitlements between two logins;
- as authlib's OpenID code flow does, a nonce is refused while an unredeemed
  code carries it ("Replay attack"): give each login its own nonce, or none
  (GenericOAuthenticator sends none);
- silent: no request log, and authlib's debug log (which prints tokens) is
  kept off.
"""

from __future__ import annotations

import copy
import html
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidScopeError,
    OAuth2Error,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import (
    AuthorizationCodeMixin,
    OpenIDCode,
    UserInfo,
    UserInfoEndpoint,
)
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

SCOPES = ["openid", "profile", "email", "eduperson_entitlement"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
CODE_LIFETIME = 600
TOKEN_LIFETIME = 3600
ID_TOKEN_LIFETIME = 3600

# authlib logs issued tokens at DEBUG ("Issue token %r to %r"); whatever level
# a test sets on the root logger, they must not reach a log.
logging.getLogger("authlib").setLevel(logging.INFO)


class _UserInfo(UserInfo):
    """OIDC's scope-to-claims mapping, plus the entitlements scope."""

    SCOPES_CLAIMS_MAPPING = {  # noqa: RUF012 (authlib's class attribute)
        **UserInfo.SCOPES_CLAIMS_MAPPING,
        "eduperson_entitlement": ["eduperson_entitlement"],
    }


#: Claims some scope releases; any other extra claim is always released.
_SCOPED_CLAIMS = {c for cs in _UserInfo.SCOPES_CLAIMS_MAPPING.values() for c in cs}


def user_claims(username: str, extra: dict[str, Any], scope: str) -> dict[str, Any]:
    """The userinfo answer for a user and a token's scope.

    ``name`` and ``email`` default to the username and username@example.org;
    ``extra`` may override them but not ``sub`` or ``preferred_username``.
    """
    claims = _UserInfo(name=username, email=f"{username}@example.org")
    claims.update(extra)
    claims.update(sub=username, preferred_username=username)
    answer = dict(claims.filter(scope))
    answer.update((k, v) for k, v in claims.items() if k not in _SCOPED_CLAIMS)
    return answer


@dataclass
class Client(ClientMixin):
    """A confidential client: secret, exact redirect URIs, code flow only."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OIDC requires redirect_uri in every authorization request

    def get_allowed_scope(self, scope: str) -> str:
        return list_to_scope([s for s in scope_to_list(scope) if s in SCOPES])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(
            self.client_secret.encode(), client_secret.encode()
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str = field(repr=False)
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def is_expired(self) -> bool:
        return time.time() > self.auth_time + CODE_LIFETIME


@dataclass
class Token(TokenMixin):
    access_token: str = field(repr=False)
    client: Client
    username: str
    scope: str
    issued_at: float
    expires_in: int

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> str:
        return self.username

    def get_client(self) -> Client:
        return self.client


class _Server(AuthorizationServer):
    """authlib's Flask server, with a way back to the provider's state."""

    provider: OIDCProvider


class _CodeGrant(grants.AuthorizationCodeGrant):
    server: _Server

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.server.provider._save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.client.get_allowed_scope(request.payload.scope),
                username=request.user,
                nonce=data.get("nonce"),
                auth_time=int(time.time()),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )
        )

    def query_authorization_code(
        self, code: str, client: Client
    ) -> AuthorizationCode | None:
        return self.server.provider._code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.provider._delete_code(authorization_code.code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> str | None:
        username = authorization_code.username
        return username if username in self.server.provider.users else None


class _OpenIDCode(OpenIDCode):
    """The id_token: who logged in; every other claim is at userinfo."""

    def __init__(self, provider: OIDCProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.provider._nonce_in_use(request.payload.client_id, nonce)

    def get_jwt_config(self, grant: Any, client: Client) -> dict[str, Any]:
        return self.provider._jwt_config()

    def get_audiences(self, request: Any) -> str:
        return request.client.client_id  # one audience: a string, not a list

    def generate_user_info(self, user: str, scope: str) -> UserInfo:
        return UserInfo(sub=user, preferred_username=user)


def _require_openid(grant: Any) -> None:
    """Extension: an authorization request without scope openid is refused."""

    def check(grant: Any, _result: Any) -> None:
        if "openid" not in (scope_to_list(grant.request.payload.scope) or []):
            raise InvalidScopeError("The scope must include 'openid'.")

    grant.register_hook("after_validate_authorization_request_payload", check)


class _BearerTokenValidator(BearerTokenValidator):
    def __init__(self, provider: OIDCProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.provider._token(token_string)


class _UserInfoEndpoint(UserInfoEndpoint):
    def __init__(self, provider: OIDCProvider, protector: ResourceProtector) -> None:
        super().__init__(resource_protector=protector)
        self.provider = provider

    def get_issuer(self) -> str:
        return self.provider.url

    def generate_user_info(self, user: str, scope: str) -> UserInfo:
        extra = dict(self.provider.users.get(user) or {})
        return UserInfo(user_claims(user, extra, scope))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the query strings and paths stay out of the test output


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    response = Response(text, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def login_page(action: str, client_id: str) -> Response:
    """The form the browser sees: a username, no password."""
    return _page(
        "Log in",
        f"<h1>Log in to {html.escape(client_id)}</h1>\n"
        f'<form method="post" action="{html.escape(action)}">\n'
        '<label for="username">Username</label>\n'
        '<input name="username" id="username" autofocus>\n'
        '<button id="login" type="submit">Log in</button>\n'
        "</form>",
    )


class OIDCProvider:
    """An OpenID Connect provider on 127.0.0.1, port chosen by the system.

    Use as a context manager: ``with OIDCProvider() as idp: ...``. The server
    listens from construction on and serves between ``__enter__`` and
    ``__exit__``.
    """

    def __init__(self) -> None:
        self.users: dict[str, dict] = {}
        #: Claims for a name not in ``users`` (None: such a name gets 403);
        #: `make demo` lets anyone in this way. Copied into ``users`` at login.
        self.newcomers: dict | None = None
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, Token] = {}
        key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
        self._kid = key.thumbprint()
        self._private_key = key
        self._jwks = {
            "keys": [
                key.as_dict(is_private=False, kid=self._kid, use="sig", alg="RS256")
            ]
        }
        self.app = self._build_app()
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    # --- the public interface ---------------------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> None:
        with self._lock:
            self._clients[client_id] = Client(
                client_id, client_secret, list(redirect_uris)
            )

    def endpoints(self) -> dict[str, str]:
        """GenericOAuthenticator's three URL settings, by their trait names."""
        return {
            "authorize_url": f"{self.url}/authorize",
            "token_url": f"{self.url}/token",
            "userdata_url": f"{self.url}/userinfo",
        }

    def discovery(self) -> dict[str, Any]:
        """The document served at /.well-known/openid-configuration."""
        urls = self.endpoints()
        return {
            "issuer": self.url,
            "authorization_endpoint": urls["authorize_url"],
            "token_endpoint": urls["token_url"],
            "userinfo_endpoint": urls["userdata_url"],
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["plain", "S256"],
            "claims_supported": sorted(_SCOPED_CLAIMS | {"iss", "aud", "nonce"}),
        }

    def __enter__(self) -> OIDCProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown waits up to one interval
            name="oidc-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()

    # --- in-memory state, for the authlib models ---------------------------

    def _client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def _save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def _code(self, code: str, client_id: str) -> AuthorizationCode | None:
        with self._lock:
            found = self._codes.get(code)
        if found and found.client_id == client_id and not found.is_expired():
            return found
        return None

    def _delete_code(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)

    def _nonce_in_use(self, client_id: str, nonce: str) -> bool:
        with self._lock:
            codes = list(self._codes.values())
        return any(
            c.client_id == client_id and c.nonce == nonce and not c.is_expired()
            for c in codes
        )

    def _save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        saved = Token(
            access_token=token["access_token"],
            client=oauth_request.client,
            username=oauth_request.user,
            scope=token.get("scope", ""),
            issued_at=time.time(),
            expires_in=int(token["expires_in"]),
        )
        with self._lock:
            self._tokens[saved.access_token] = saved

    def _token(self, access_token: str) -> Token | None:
        with self._lock:
            return self._tokens.get(access_token)

    def _jwt_config(self) -> dict[str, Any]:
        return {
            "key": self._private_key,
            "alg": "RS256",
            "iss": self.url,
            "exp": ID_TOKEN_LIFETIME,
            "kid": self._kid,
        }

    # --- the web application -------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.config["OAUTH2_SCOPES_SUPPORTED"] = SCOPES
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": TOKEN_LIFETIME}
        server = _Server(app, query_client=self._client, save_token=self._save_token)
        server.provider = self
        server.register_grant(
            _CodeGrant,
            [CodeChallenge(required=True), _OpenIDCode(self), _require_openid],
        )
        protector = ResourceProtector()
        protector.register_token_validator(_BearerTokenValidator(self))
        server.register_endpoint(_UserInfoEndpoint(self, protector))

        app.add_url_rule(
            "/.well-known/openid-configuration",
            "discovery",
            lambda: jsonify(self.discovery()),
        )
        app.add_url_rule("/jwks", "jwks", lambda: jsonify(self._jwks))
        app.add_url_rule(
            "/authorize",
            "authorize",
            lambda: self._authorize(server),
            methods=["GET", "POST"],
        )
        app.add_url_rule(
            "/token", "token", server.create_token_response, methods=["POST"]
        )
        app.add_url_rule(
            "/userinfo",
            "userinfo",
            lambda: server.create_endpoint_response("userinfo"),
            methods=["GET", "POST"],
        )
        app.wsgi_app = self._recording(app.wsgi_app)  # type: ignore[method-assign]
        return app

    def _recording(self, wsgi_app: Any) -> Any:
        def record(environ: dict[str, Any], start_response: Any) -> Any:
            with self._lock:
                self.requests.append(
                    (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
                )
            return wsgi_app(environ, start_response)

        return record

    def _authorize(self, server: _Server) -> Any:
        """GET: the login page. POST: a known username gets the code."""
        username = request.form.get("username", "") if request.method == "POST" else ""
        if username.strip() and self.newcomers is not None:
            self.users.setdefault(username, copy.deepcopy(self.newcomers))
        known = username in self.users
        try:
            grant = server.get_consent_grant(end_user=username if known else None)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        if request.method == "GET":
            return login_page(request.full_path, grant.client.client_id)
        if not known:
            return _page(
                "Unknown user", f"<p>unknown user {html.escape(username)}</p>", 403
            )
        return server.create_authorization_response(grant_user=username, grant=grant)
