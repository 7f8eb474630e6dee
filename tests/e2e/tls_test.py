#!/usr/bin/python3
"""TLS and mutual TLS end to end: `tessera serve` with certificates made here by the openssl CLI,
driven by `buf curl` with and without a client certificate; a rotated server certificate is
served without a restart (on the OAuth port too); with --introspect_auth=mtls a client
certificate alone may introspect, over gRPC and over OAuth's HTTPS, which asks for the same client
certificates, and with --ext_authz_auth=mtls a proxy may call Envoy's Check by its certificate;
and the HTTP side port serves nothing secret.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/tls_test.py --binary build/server/tessera --source .
"""
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import requests

from harness import Postgres, Server, make_ca, make_leaf, parse_args

ARGS = None
# The servers here re-read their TLS files every second; a rotation must show within this.
ROTATION_BOUND = 15.0


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        d = cls.dir = os.path.join(cls.pg.tmp, "certs")
        os.makedirs(d)
        make_ca(d, "server-ca")
        make_ca(d, "client-ca")
        make_ca(d, "stranger-ca")
        # Like a mounted Kubernetes secret: the files are reached through a directory symlink
        # that a rotation swaps in one step.
        for version in ("v1", "v2"):
            os.makedirs(os.path.join(d, version))
            make_leaf(d, "server-ca", f"tessera-{version}", os.path.join(d, version))
        os.symlink("v1", os.path.join(d, "live"))
        make_leaf(d, "client-ca", "client-app", server=False)
        make_leaf(d, "stranger-ca", "stranger", server=False)

        shared = {"TESSERA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
                  "TESSERA_PEPPER": secrets.token_hex(32),
                  "TESSERA_TLS_CERT": os.path.join(d, "live", "tls.crt"),
                  "TESSERA_TLS_KEY": os.path.join(d, "live", "tls.key"),
                  "TESSERA_TLS_RELOAD_INTERVAL": "1",
                  # With TLS the OAuth port is served too, and names its issuer's URL.
                  "TESSERA_ISSUER": "https://tessera.test"}
        cls.tls = Server(ARGS.binary, cls.pg, cls.pg.tmp, shared, name="tls")
        cls.mtls = Server(ARGS.binary, cls.pg, cls.pg.tmp,
                          dict(shared, TESSERA_TLS_CLIENT_CA=os.path.join(d, "client-ca.crt"),
                               TESSERA_INTROSPECT_AUTH="mtls", TESSERA_EXT_AUTHZ_AUTH="mtls"),
                          name="mtls")
        cls.boot = json.loads(cls.tls.run("bootstrap", "--org", "acme", "--admin", "admin").stdout)
        cls.tls.start()
        cls.mtls.start()
        cls.buf = os.path.join(ARGS.source, "tools/node_modules/.bin/buf")

    @classmethod
    def tearDownClass(cls):
        for server in (cls.tls, cls.mtls):
            server.kill()
        cls.pg.destroy()

    def curl(self, server, method, body, client=None, token=None, plaintext=False):
        """buf curl over TLS (or plaintext); returns (ok, parsed answer or error text)."""
        # The schema from the checkout, not reflection: a refused connection then fails the
        # call itself, with the transport's own error.
        cmd = [self.buf, "curl", "--protocol", "grpc", "--schema", os.path.join(ARGS.source, "proto")]
        if plaintext:
            cmd += ["--http2-prior-knowledge", f"http://{server.grpc_target}/{method}"]
        else:
            cmd += ["--cacert", os.path.join(self.dir, "server-ca.crt"),
                    f"https://{server.grpc_target}/{method}"]
        if client:
            cmd += ["--cert", os.path.join(self.dir, f"{client}.crt"),
                    "--key", os.path.join(self.dir, f"{client}.key")]
        if token:
            cmd += ["-H", f"authorization: Bearer {token}"]
        cmd += ["-d", json.dumps(body)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if out.returncode == 0:
            return True, json.loads(out.stdout or "{}")
        return False, out.stderr

    def login(self, server, client=None):
        ok, answer = self.curl(server, "tessera.v1.TokenService/IssueToken", {
            "password": {"org_slug": "acme", "username": "admin",
                         "password": self.boot["password"]}}, client=client)
        self.assertTrue(ok, answer)
        return answer

    def served_certificate(self, server, port=None):
        """The subject CN of the certificate `server` presents to a new connection (on its gRPC
        port, or on `port`)."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "server-ca.crt"))
        ctx.load_cert_chain(os.path.join(self.dir, "client-app.crt"),
                            os.path.join(self.dir, "client-app.key"))
        if port is None:
            ctx.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", port or server.grpc_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                subject = dict(x[0] for x in conn.getpeercert()["subject"])
                return subject["commonName"]

    def test_01_tls_without_a_client_certificate(self):
        answer = self.login(self.tls)
        self.assertEqual(answer["tokenType"], "Bearer")
        ok, err = self.curl(self.tls, "tessera.v1.TokenService/GetJwks", {},
                            token=answer["accessToken"])
        self.assertTrue(ok, err)
        ok, err = self.curl(self.tls, "tessera.v1.TokenService/GetJwks", {},
                            token=answer["accessToken"], plaintext=True)
        self.assertFalse(ok, "plaintext must not reach a TLS port")
        # Refused by the transport; which way it surfaces depends on timing.
        self.assertRegex(err, r'"code": "(unavailable|canceled)"')

    def test_02_mutual_tls_needs_a_certificate_from_the_client_ca(self):
        answer = self.login(self.mtls, client="client-app")
        self.assertTrue(answer["accessToken"])
        for client in (None, "stranger"):
            ok, err = self.curl(self.mtls, "tessera.v1.TokenService/IssueToken", {
                "password": {"org_slug": "acme", "username": "admin",
                             "password": self.boot["password"]}}, client=client)
            self.assertFalse(ok, f"a handshake with client certificate {client} succeeded")
            # The TLS handshake refused it: the transport fails (which way depends on timing).
            self.assertRegex(err, r'"code": "(unavailable|canceled)"')

    def test_03_introspect_by_certificate_alone(self):
        token = self.login(self.mtls, client="client-app")["accessToken"]
        ok, answer = self.curl(self.mtls, "tessera.v1.TokenService/Introspect",
                               {"token": token}, client="client-app")
        self.assertTrue(ok, answer)
        self.assertTrue(answer["active"])
        self.assertEqual(answer["username"], "admin")
        # Without mTLS the same call needs a bearer credential.
        ok, err = self.curl(self.tls, "tessera.v1.TokenService/Introspect", {"token": token})
        self.assertFalse(ok)
        self.assertIn("unauthenticated", err)
        # A certificate opens Introspect only; every other call still needs a bearer.
        ok, err = self.curl(self.mtls, "tessera.v1.AdminService/ListAccounts", {},
                            client="client-app")
        self.assertFalse(ok)
        self.assertIn("unauthenticated", err)

    def test_03a_a_proxy_calls_check_by_certificate_alone(self):
        token = self.login(self.mtls, client="client-app")["accessToken"]
        request = {"attributes": {
            "source": {"principal": "spiffe://cluster.local/ns/shop/sa/web"},
            "request": {"http": {"method": "GET", "path": "/orders",
                                 "headers": {":path": "/orders",
                                             "authorization": f"Bearer {token}"}}},
            "contextExtensions": {"tessera.required_scopes": "orders:read"}}}
        ok, answer = self.curl(self.mtls, "envoy.service.auth.v3.Authorization/Check", request,
                               client="client-app")
        self.assertTrue(ok, answer)
        self.assertEqual(answer["status"], {})  # the admin holds admin: allowed
        self.assertIn("okResponse", answer)
        # Without --ext_authz_auth=mtls the proxy needs a bearer credential of its own.
        ok, err = self.curl(self.tls, "envoy.service.auth.v3.Authorization/Check", request)
        self.assertFalse(ok)
        self.assertIn("unauthenticated", err)

    def test_03b_the_oauth_port_asks_for_the_same_client_certificates(self):
        token = self.login(self.mtls, client="client-app")["accessToken"]
        url = f"https://127.0.0.1:{self.mtls.oauth_port}/oauth2/introspect"
        ca = os.path.join(self.dir, "server-ca.crt")

        def post(client):
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
            cert = (os.path.join(self.dir, f"{client}.crt"),
                    os.path.join(self.dir, f"{client}.key")) if client else None
            return session.post(url, data={"token": token}, verify=ca, cert=cert, timeout=10)
        # --introspect_auth=mtls: the verified certificate alone may introspect, as on gRPC.
        answer = post("client-app")
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertEqual((answer.json()["active"], answer.json()["username"]), (True, "admin"))
        for client in (None, "stranger"):
            with self.assertRaises(requests.exceptions.RequestException, msg=client):
                post(client)

    def test_04_a_rotated_certificate_is_served_without_a_restart(self):
        pids = (self.tls.process.pid, self.mtls.process.pid)
        self.assertEqual(self.served_certificate(self.mtls), "tessera-v1")
        self.assertEqual(self.served_certificate(self.tls, self.tls.oauth_port), "tessera-v1")
        live = os.path.join(self.dir, "live")
        os.symlink("v2", live + ".new")
        os.replace(live + ".new", live)
        start = time.time()
        while time.time() - start < ROTATION_BOUND:
            if (all(self.served_certificate(s) == "tessera-v2" for s in (self.tls, self.mtls)) and
                    self.served_certificate(self.tls, self.tls.oauth_port) == "tessera-v2"):
                break
            time.sleep(0.2)
        took = time.time() - start
        print(f"\n  rotated certificate served after {took:.1f} s", file=sys.stderr)
        self.assertEqual(self.served_certificate(self.tls), "tessera-v2")
        self.assertEqual(self.served_certificate(self.mtls), "tessera-v2")
        # The OAuth port follows the same files (core/tls_material re-reads them).
        self.assertEqual(self.served_certificate(self.tls, self.tls.oauth_port), "tessera-v2")
        self.assertEqual((self.tls.process.pid, self.mtls.process.pid), pids)
        self.assertIsNone(self.tls.process.poll())
        self.login(self.tls)
        self.login(self.mtls, client="client-app")

    def test_05_the_http_side_port_serves_nothing_secret(self):
        answer = self.login(self.tls)
        secrets_seen = [self.boot["password"], answer["accessToken"], answer["refreshToken"],
                        self.tls.env["TESSERA_PEPPER"], self.tls.env["TESSERA_KEY_ENCRYPTION_KEY"]]
        for path in ("/healthz", "/readyz", "/.well-known/jwks.json", "/metrics", "/",
                     "/debug", "/.well-known/openid-configuration", "/../etc/passwd"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.tls.http_port}{path}",
                                            timeout=5) as r:
                    body = r.read().decode()
            except urllib.error.HTTPError as e:
                body = e.read().decode()
            for secret in secrets_seen:
                self.assertNotIn(secret, body, path)
            self.assertNotIn("PRIVATE KEY", body, path)
        jwks = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{self.tls.http_port}/.well-known/jwks.json", timeout=5).read())
        for key in jwks["keys"]:
            # Public members only: no private exponent, primes or EC/OKP private scalar.
            self.assertFalse({"d", "p", "q", "dp", "dq", "qi"} & set(key), key)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
