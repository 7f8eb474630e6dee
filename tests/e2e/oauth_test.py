#!/usr/bin/python3
"""OAuth 2.0 over HTTPS end to end: two `tessera serve` replicas with TLS, driven by a real OAuth
client library (Debian's python3-authlib: client_credentials with client_secret_basic and
client_secret_post, the password grant, refresh rotation, introspection, revocation, the RFC 8414
metadata) and by `curl` for every error the endpoints answer. A revoked token and a disabled
account introspect inactive over HTTP at once on the replica that made the change and, once its
change feed applied it, on the other; a rotated certificate is served without a restart; the
port is plaintext only when the setting says so.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/oauth_test.py --binary build/server/tessera --source .
"""
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from harness import Postgres, Server, load_protos, make_ca, make_leaf, parse_args, wait_until

ARGS = None
# Only a safety net: a change reaches the other replica in milliseconds (tessera_bench
# --only=propagation bounds it); the time taken is printed.
ARRIVAL_TIMEOUT = 30.0
ROTATION_BOUND = 15.0  # the servers re-read their TLS files every second


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Grpc:
    """tessera's admin calls over the TLS gRPC port, with Debian's grpcio."""

    def __init__(self, target, ca_file, pb):
        with open(ca_file, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        self.channel = grpc.secure_channel(target, creds)
        self.token_pb, self.admin_pb = pb

    def call(self, method, request, response_type, token):
        stub = self.channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response_type.FromString)
        return stub(request, metadata=[("authorization", f"Bearer {token}")], timeout=10)

    def admin(self, method, request, token):
        response_type = getattr(self.admin_pb, f"{method}Response")
        return self.call(f"/tessera.v1.AdminService/{method}", request, response_type, token)


class OAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        d = cls.dir = os.path.join(cls.pg.tmp, "certs")
        os.makedirs(os.path.join(d, "live"))
        make_ca(d, "ca")
        make_ca(d, "next-ca")
        make_leaf(d, "ca", "tessera", os.path.join(d, "live"))
        cls.ca_file = os.path.join(d, "ca.crt")
        port = free_port()
        # One issuer for both replicas, as behind one load balancer: A's address here.
        cls.issuer = f"https://127.0.0.1:{port}"
        shared = {"TESSERA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
                  "TESSERA_PEPPER": secrets.token_hex(32),
                  "TESSERA_TLS_CERT": os.path.join(d, "live", "tls.crt"),
                  "TESSERA_TLS_KEY": os.path.join(d, "live", "tls.key"),
                  "TESSERA_TLS_RELOAD_INTERVAL": "1",
                  "TESSERA_ISSUER": cls.issuer,
                  "TESSERA_REFRESH_GRACE": "2",
                  # Every failure here comes from 127.0.0.1: only the per-account lockout.
                  "TESSERA_PEER_MAX_FAILURES": "10000"}
        cls.a = Server(ARGS.binary, cls.pg, cls.pg.tmp,
                       dict(shared, TESSERA_OAUTH_LISTEN=f"127.0.0.1:{port}"), name="replica-a")
        cls.b = Server(ARGS.binary, cls.pg, cls.pg.tmp,
                       dict(shared, TESSERA_OAUTH_LISTEN="127.0.0.1:0"), name="replica-b")
        cls.boot = json.loads(cls.a.run("bootstrap", "--org", "acme", "--admin", "admin").stdout)
        try:
            cls.a.start()
            cls.b.start()
            cls.pb = load_protos(ARGS.source, tempfile.mkdtemp(dir=cls.pg.tmp))
            cls.grpc = Grpc(cls.a.grpc_target, cls.ca_file, cls.pb)
            cls.secrets = [cls.boot["password"]]
            cls.make_principals()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for server in (cls.a, cls.b):
            server.kill()
        cls.pg.destroy()

    # --- set-up through the APIs -------------------------------------------------------------

    @classmethod
    def url(cls, path, server=None):
        return f"https://127.0.0.1:{(server or cls.a).oauth_port}{path}"

    @classmethod
    def trust(cls, session):
        """The test CA, and only it: requests would let REQUESTS_CA_BUNDLE override `verify`."""
        session.trust_env = False
        session.verify = cls.ca_file

    @classmethod
    def password_token(cls, username, password, server=None, **extra):
        session = OAuth2Session(token_endpoint_auth_method="none")
        cls.trust(session)
        return session.fetch_token(cls.url("/oauth2/token", server), grant_type="password",
                                   username=username, password=password, org_slug="acme",
                                   **extra)

    @classmethod
    def make_principals(cls):
        admin = cls.password_token("admin", cls.boot["password"])["access_token"]
        cls.admin = admin
        a = cls.pb[1]
        cls.grpc.admin("CreateRole", a.CreateRoleRequest(
            name="gateway", scopes=["tokens:introspect", "tokens:revoke", "orders:read",
                                    "docs:read", "docs:write"]), admin)
        cls.grpc.admin("CreateRole", a.CreateRoleRequest(name="app", scopes=["docs:read",
                                                                               "docs:write"]), admin)
        gw = cls.grpc.admin("CreateAccount", a.CreateAccountRequest(
            kind="ACCOUNT_KIND_SERVICE", username="gateway", roles=["gateway"]), admin)
        key = cls.grpc.admin("CreateApiKey", a.CreateApiKeyRequest(
            account_id=gw.account.id, name="gw", kind="API_KEY_KIND_SERVICE_TOKEN",
            scopes=["tokens:introspect", "tokens:revoke", "orders:read", "docs:read",
                    "docs:write"]), admin)
        cls.client_id, cls.client_secret = key.key, key.secret
        cls.users = {}
        for name in ("ann", "bea", "cid"):
            password = f"{name}-password-{secrets.token_hex(4)}"
            account = cls.grpc.admin("CreateAccount", a.CreateAccountRequest(
                kind="ACCOUNT_KIND_USER", username=name, password=password, roles=["app"]), admin)
            cls.users[name] = (account.account.id, password)
        cls.secrets += [cls.client_secret] + [p for _, p in cls.users.values()]

    def client(self, method="client_secret_basic", server=None, **kw):
        session = OAuth2Session(client_id=self.client_id, client_secret=self.client_secret,
                                token_endpoint_auth_method=method, **kw)
        self.trust(session)
        return session

    def introspect(self, token, server=None):
        answer = self.client().introspect_token(self.url("/oauth2/introspect", server), token=token)
        self.assertEqual(answer.status_code, 200, answer.text)
        return answer.json()

    def curl(self, path, *args, server=None, method="POST"):
        """curl over HTTPS; returns (status, headers with lower-case names, body as text)."""
        out = subprocess.run(["curl", "-s", "-i", "--cacert", self.ca_file, "-X", method,
                              self.url(path, server), *args],
                             capture_output=True, timeout=30, check=True)
        # Bytes: text mode would turn the CRLFs that end the head into plain newlines.
        head, _, body = out.stdout.decode().partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip()
                   for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        return int(lines[0].split()[1]), headers, body

    def assertOAuthError(self, answer, status, error):
        code, headers, body = answer
        self.assertEqual(code, status, body)
        self.assertEqual(json.loads(body)["error"], error, body)
        self.assertEqual(headers.get("content-type"), "application/json")
        for secret in self.secrets:
            self.assertNotIn(secret, body)
        return headers, json.loads(body)

    # --- the endpoints with a real OAuth library ------------------------------------------

    def test_01_metadata_is_rfc8414_and_the_same_on_every_replica(self):
        docs = [requests.get(self.url("/.well-known/oauth-authorization-server", s),
                             verify=self.ca_file).json() for s in (self.a, self.b)]
        self.assertEqual(docs[0], docs[1])
        doc = AuthorizationServerMetadata(docs[0])
        # authlib's own RFC 8414 checks, each of them but one: with no authorization endpoint
        # there is no response type to list, and authlib takes the empty list for a missing one.
        self.assertEqual(doc["response_types_supported"], [])
        for key in doc.REGISTRY_KEYS:
            if key != "response_types_supported":
                getattr(doc, f"validate_{key}")()
        self.assertEqual(doc["issuer"], self.issuer)
        self.assertEqual(doc["token_endpoint"], self.issuer + "/oauth2/token")
        self.assertEqual(doc["introspection_endpoint"], self.issuer + "/oauth2/introspect")
        self.assertEqual(doc["revocation_endpoint"], self.issuer + "/oauth2/revoke")
        self.assertEqual(doc["grant_types_supported"],
                         ["client_credentials", "password", "refresh_token"])
        self.assertNotIn("code_challenge_methods_supported", doc)
        jwks = requests.get(doc["jwks_uri"], verify=self.ca_file).json()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.a.http_port}/.well-known/jwks.json") as r:
            self.assertEqual(jwks, json.load(r))

    def test_02_client_credentials_by_basic_and_by_post(self):
        for method in ("client_secret_basic", "client_secret_post"):
            token = self.client(method).fetch_token(self.url("/oauth2/token"),
                                                    grant_type="client_credentials")
            self.assertEqual(token["token_type"], "Bearer")
            self.assertEqual(token["scope"],
                             "docs:read docs:write orders:read tokens:introspect tokens:revoke")
            self.assertGreater(token["expires_in"], 0)
            self.assertNotIn("refresh_token", token)
            self.assertTrue(self.introspect(token["access_token"])["active"])
        narrowed = self.client().fetch_token(self.url("/oauth2/token"),
                                             grant_type="client_credentials", scope="orders:read",
                                             audience="orders")
        self.assertEqual(narrowed["scope"], "orders:read")
        answer = self.introspect(narrowed["access_token"])
        self.assertEqual((answer["scope"], answer["aud"]), ("orders:read", "orders"))
        resource = self.client().fetch_token(self.url("/oauth2/token"),
                                             grant_type="client_credentials",
                                             resource="https://orders.example")
        self.assertEqual(self.introspect(resource["access_token"])["aud"], "https://orders.example")

    def test_03_password_grant_refresh_rotation_and_reuse(self):
        _, password = self.users["ann"]
        token = self.password_token("ann", password, scope="docs:read")
        self.assertEqual(token["scope"], "docs:read")
        answer = self.introspect(token["access_token"])
        self.assertEqual((answer["active"], answer["username"], answer["scope"]),
                         (True, "ann", "docs:read"))
        for field in ("client_id", "token_type", "exp", "iat", "nbf", "sub", "aud", "iss", "jti",
                      "org_id"):
            self.assertIn(field, answer)
        session = OAuth2Session(token_endpoint_auth_method="none")
        self.trust(session)
        child = session.refresh_token(self.url("/oauth2/token"),
                                      refresh_token=token["refresh_token"])
        self.assertNotEqual(child["refresh_token"], token["refresh_token"])
        # A retry within the grace window gets the same child...
        again = requests.post(self.url("/oauth2/token"), verify=self.ca_file, data={
            "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
        self.assertEqual(again.status_code, 200, again.text)
        self.assertEqual(again.json()["refresh_token"], child["refresh_token"])
        self.assertEqual(again.headers["Cache-Control"], "no-store")
        self.assertEqual(again.headers["Pragma"], "no-cache")
        # ...after it, presenting the spent token is reuse: the whole family dies.
        time.sleep(2.5)
        reuse = self.curl("/oauth2/token", "-d", "grant_type=refresh_token",
                          "-d", f"refresh_token={token['refresh_token']}")
        self.assertOAuthError(reuse, 400, "invalid_grant")
        self.assertFalse(self.introspect(child["access_token"])["active"])
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=refresh_token",
                                        "-d", f"refresh_token={child['refresh_token']}"),
                              400, "invalid_grant")

    def test_04_revocation_reaches_both_replicas(self):
        _, password = self.users["bea"]
        token = self.password_token("bea", password)
        self.assertTrue(wait_until(lambda: self.introspect(token["access_token"], self.b)["active"],
                                   ARRIVAL_TIMEOUT) is not None)
        answer = self.client().revoke_token(self.url("/oauth2/revoke"),
                                            token=token["access_token"],
                                            token_type_hint="access_token")
        self.assertEqual(answer.status_code, 200, answer.text)
        start = time.monotonic()
        self.assertFalse(self.introspect(token["access_token"])["active"])  # the next call
        took = wait_until(lambda: not self.introspect(token["access_token"], self.b)["active"],
                          ARRIVAL_TIMEOUT)
        self.assertIsNotNone(took, "replica B never saw the revocation")
        print(f"\n  revocation over HTTP: inactive on replica B after "
              f"{(time.monotonic() - start) * 1000:.1f} ms", file=sys.stderr)
        # Revoking the refresh token ends the session: its next refresh is refused.
        self.assertEqual(self.client().revoke_token(self.url("/oauth2/revoke"),
                                                    token=token["refresh_token"]).status_code, 200)
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=refresh_token",
                                        "-d", f"refresh_token={token['refresh_token']}"),
                              400, "invalid_grant")
        # An unknown token is 200 (RFC 7009 §2.2).
        self.assertEqual(self.client().revoke_token(self.url("/oauth2/revoke"),
                                                    token="no-such-token").status_code, 200)

    def test_05_disabled_account_is_inactive_on_both_replicas(self):
        account_id, password = self.users["cid"]
        token = self.password_token("cid", password)["access_token"]
        self.assertTrue(wait_until(lambda: self.introspect(token, self.b)["active"],
                                   ARRIVAL_TIMEOUT) is not None)
        a = self.pb[1]
        self.grpc.admin("DisableAccount", a.DisableAccountRequest(account_id=account_id),
                        self.admin)
        start = time.monotonic()
        self.assertFalse(self.introspect(token)["active"])
        took = wait_until(lambda: not self.introspect(token, self.b)["active"], ARRIVAL_TIMEOUT)
        self.assertIsNotNone(took, "replica B never saw the account disabled")
        print(f"\n  disabled account over HTTP: inactive on replica B after "
              f"{(time.monotonic() - start) * 1000:.1f} ms", file=sys.stderr)
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=password",
                                        "-d", "username=cid", "-d", f"password={password}",
                                        "-d", "org_slug=acme"), 400, "invalid_grant")

    # --- every error, with curl ------------------------------------------------------------

    def test_06_request_errors(self):
        basic = f"{self.client_id}:{self.client_secret}"
        cases = {
            "no grant_type": ["-d", "scope=x"],
            "repeated parameter": ["-d", "grant_type=password", "-d", "grant_type=password"],
            "missing parameter": ["-d", "grant_type=password", "-d", "username=ann",
                                  "-d", "org_slug=acme"],
            "wrong content type": ["-H", "Content-Type: application/json",
                                   "--data", '{"grant_type": "password"}'],
            "malformed escape": ["--data", "grant_type=pass%zzword"],
            "two client authentication methods": [
                "-u", basic, "-d", "grant_type=client_credentials",
                "-d", f"client_id={self.client_id}", "-d", f"client_secret={self.client_secret}"],
            "audience and resource": ["-u", basic, "-d", "grant_type=client_credentials",
                                      "-d", "audience=a", "-d", "resource=b"],
        }
        for what, args in cases.items():
            with self.subTest(what):
                self.assertOAuthError(self.curl("/oauth2/token", *args), 400, "invalid_request")
        big = os.path.join(self.dir, "big.form")
        with open(big, "w") as f:
            f.write("grant_type=password&username=" + "a" * 70000)
        self.assertOAuthError(self.curl("/oauth2/token", "--data-binary", f"@{big}"), 400,
                              "invalid_request")
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=authorization_code"),
                              400, "unsupported_grant_type")
        self.assertOAuthError(self.curl("/oauth2/introspect", "-u", basic), 400, "invalid_request")

    def test_07_credential_errors(self):
        wrong = f"{self.client_id}:wrong-{secrets.token_hex(8)}"
        headers, _ = self.assertOAuthError(
            self.curl("/oauth2/token", "-u", wrong, "-d", "grant_type=client_credentials"),
            401, "invalid_client")
        self.assertEqual(headers["www-authenticate"], 'Basic realm="tessera"')
        self.assertNotIn(wrong.split(":")[1], json.dumps(headers))
        headers, _ = self.assertOAuthError(
            self.curl("/oauth2/token", "-d", "grant_type=client_credentials"), 401, "invalid_client")
        self.assertIn("www-authenticate", headers)
        for path in ("/oauth2/introspect", "/oauth2/revoke"):
            self.assertOAuthError(self.curl(path, "-d", "token=x"), 401, "invalid_client")
            headers, _ = self.assertOAuthError(
                self.curl(path, "-H", "Authorization: Bearer not-a-token", "-d", "token=x"),
                401, "invalid_client")
            self.assertIn('error="invalid_token"', headers["www-authenticate"])
        # A Basic client with a wrong secret is answered in Basic's terms on every endpoint.
        for path in ("/oauth2/introspect", "/oauth2/revoke"):
            headers, _ = self.assertOAuthError(self.curl(path, "-u", wrong, "-d", "token=x"),
                                               401, "invalid_client")
            self.assertEqual(headers["www-authenticate"], 'Basic realm="tessera"')
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=password",
                                        "-d", "username=ann", "-d", "password=wrong",
                                        "-d", "org_slug=acme"), 400, "invalid_grant")
        self.assertOAuthError(self.curl("/oauth2/token", "-d", "grant_type=refresh_token",
                                        "-d", "refresh_token=rt_" + "0" * 64), 400, "invalid_grant")
        self.assertOAuthError(self.curl("/oauth2/token", "-u", f"{self.client_id}:{self.client_secret}",
                                        "-d", "grant_type=client_credentials",
                                        "-d", "scope=payroll:admin"), 400, "invalid_scope")
        # A user's token may not introspect others' (no tokens:introspect): 403.
        _, password = self.users["ann"]
        ann = self.password_token("ann", password)["access_token"]
        self.assertOAuthError(self.curl("/oauth2/introspect", "-H", f"Authorization: Bearer {ann}",
                                        "-d", f"token={ann}"), 403, "unauthorized_client")

    def test_08_a_lockout_is_429_and_the_same_for_an_unknown_name(self):
        answers = {}
        for name in ("ann", "nobody-here"):
            for _ in range(5):
                self.curl("/oauth2/token", "-d", "grant_type=password", "-d", f"username={name}",
                          "-d", "password=wrong", "-d", "org_slug=acme")
            code, headers, body = self.curl("/oauth2/token", "-d", "grant_type=password",
                                            "-d", f"username={name}", "-d", "password=wrong",
                                            "-d", "org_slug=acme")
            self.assertEqual(code, 429, body)
            self.assertEqual(headers["retry-after"], "60")
            answers[name] = json.loads(body)
        self.assertEqual(answers["ann"], answers["nobody-here"])  # no enumeration

    def test_09_unknown_paths_and_wrong_methods(self):
        code, _, body = self.curl("/oauth2/authorize", method="GET")
        self.assertEqual(code, 404, body)
        for path, allow in (("/oauth2/token", "POST"), ("/oauth2/introspect", "POST"),
                            ("/.well-known/oauth-authorization-server", "GET, HEAD")):
            code, headers, body = self.curl(path, method="GET" if allow == "POST" else "DELETE")
            self.assertEqual(code, 405, body)
            self.assertEqual(headers["allow"], allow)

    def test_09b_ambiguous_framing_is_refused(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        request = (b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        with socket.create_connection(("127.0.0.1", self.a.oauth_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                conn.sendall(request)
                answer = ""
                while "\r\n\r\n" not in answer or not answer.rstrip().endswith("}"):
                    chunk = conn.recv(65536).decode()
                    if not chunk:
                        break
                    answer += chunk
        self.assertTrue(answer.startswith("HTTP/1.1 400"), answer)
        self.assertIn("ambiguous message framing", answer)

    def test_10_log_lines_and_metrics(self):
        answer = requests.get(self.url("/.well-known/oauth-authorization-server"),
                              verify=self.ca_file, headers={"X-Request-Id": "oauth-e2e-1"})
        self.assertEqual(answer.headers["X-Request-Id"], "oauth-e2e-1")
        self.client().fetch_token(self.url("/oauth2/token"), grant_type="client_credentials")
        lines = [json.loads(l) for l in self.a.read_log().splitlines() if l.startswith("{")]
        http = [l for l in lines if l.get("event") == "http"]
        mine = [l for l in http if l["request_id"] == "oauth-e2e-1"]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["path"], mine[0]["status"], mine[0]["port"]),
                         ("/.well-known/oauth-authorization-server", "200", "oauth"))
        issued = [l for l in http if l["path"] == "/oauth2/token" and l["status"] == "200"]
        self.assertTrue(issued and issued[-1]["org_id"] and issued[-1]["principal_id"])
        self.assertIn("duration_ms", issued[-1])
        log = self.a.read_log() + self.b.read_log()
        for secret in self.secrets:
            self.assertNotIn(secret, log)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.a.http_port}/metrics") as r:
            metrics = r.read().decode()
        self.assertRegex(metrics, r'http_server_requests_total\{code="200",handler="token"\} [1-9]')
        self.assertRegex(metrics, r'http_server_request_duration_seconds_count\{handler="token"\} [1-9]')
        self.assertRegex(metrics, r'tessera_tokens_issued_total\{grant="service_token"\} [1-9]')

    def test_90_database_outage_is_503_while_introspection_answers(self):
        token = self.client().fetch_token(self.url("/oauth2/token"),
                                          grant_type="client_credentials")["access_token"]
        _, password = self.users["ann"]
        self.pg.stop("immediate")
        try:
            code, headers, body = self.curl("/oauth2/token", "-d", "grant_type=password",
                                            "-d", "username=ann", "-d", f"password={password}",
                                            "-d", "org_slug=acme")
            self.assertEqual(code, 503, body)
            self.assertEqual(json.loads(body)["error"], "temporarily_unavailable")
            self.assertIn("retry-after", headers)
            self.assertTrue(self.introspect(token)["active"])  # from the snapshot
        finally:
            self.pg.start()

    def test_95_a_rotated_certificate_is_served_without_a_restart(self):
        live = os.path.join(self.dir, "live")
        staged = os.path.join(self.dir, "staged")
        os.makedirs(staged)
        make_leaf(self.dir, "next-ca", "tessera-next", staged)
        for name in ("tls.key", "tls.crt"):
            shutil.copy(os.path.join(staged, name), os.path.join(live, name + ".new"))
            os.replace(os.path.join(live, name + ".new"), os.path.join(live, name))

        def serves_next():
            ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "next-ca.crt"))
            try:
                with socket.create_connection(("127.0.0.1", self.a.oauth_port), timeout=5) as raw:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                        return True
            except ssl.SSLError:
                return False
        self.assertIsNotNone(wait_until(serves_next, ROTATION_BOUND))


class Plaintext(unittest.TestCase):
    """Without TLS the OAuth port is served only when oauth_plaintext says so, and says so."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        cls.keys = {"TESSERA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
                    "TESSERA_PEPPER": secrets.token_hex(32)}

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()

    def serve(self, name, env):
        server = Server(ARGS.binary, self.pg, self.pg.tmp,
                        dict(self.keys, TESSERA_OAUTH_LISTEN="127.0.0.1:0", **env), name=name)
        server.start()
        self.addCleanup(server.kill)
        return server

    def test_not_served_without_tls_or_the_setting(self):
        server = self.serve("no-oauth", {})
        self.assertEqual(server.oauth_port, 0)
        self.assertIn('"event":"oauth_not_served"', server.read_log())

    def test_plaintext_when_asked_with_a_warning(self):
        server = self.serve("plaintext", {"TESSERA_OAUTH_PLAINTEXT": "true",
                                          "TESSERA_ISSUER": "http://127.0.0.1"})
        self.assertGreater(server.oauth_port, 0)
        log = [json.loads(l) for l in server.read_log().splitlines() if l.startswith("{")]
        line = [l for l in log if l.get("event") == "oauth_serving"][0]
        self.assertEqual((line["level"], line["transport"]), ("warning", "plaintext"))
        doc = requests.get(f"http://127.0.0.1:{server.oauth_port}"
                           "/.well-known/oauth-authorization-server").json()
        self.assertEqual(doc["token_endpoint"], "http://127.0.0.1/oauth2/token")

    def test_an_issuer_that_is_not_a_url_is_refused(self):
        server = Server(ARGS.binary, self.pg, self.pg.tmp,
                        dict(self.keys, TESSERA_OAUTH_PLAINTEXT="true", TESSERA_ISSUER="tessera"))
        out = server.run("serve", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--issuer", out.stderr + out.stdout)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
