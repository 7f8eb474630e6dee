#!/usr/bin/python3
"""End-to-end: the built `tessera` binary on its own PostgreSQL, driven by `buf curl` (a real,
third-party gRPC client using server reflection) and plain HTTP.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/e2e_test.py --binary build/server/tessera --source .
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

from harness import Postgres, Server, parse_args

ARGS = None


class Tessera:
    """One PostgreSQL cluster and one `tessera serve` process, for the whole test class."""

    def __init__(self):
        self.pg_cluster = Postgres(ARGS.source)
        self.server = Server(ARGS.binary, self.pg_cluster, self.pg_cluster.tmp)
        self.buf = os.path.join(ARGS.source, "tools/node_modules/.bin/buf")
        self.env = self.server.env
        self.log_path = self.server.log_path
        self.handed_out = set()

    @property
    def grpc_port(self):
        return self.server.grpc_port

    @property
    def http_port(self):
        return self.server.http_port

    def pg(self, cmd):
        return self.pg_cluster.start() if cmd == "start" else self.pg_cluster.stop()

    def tessera(self, *args, check=True):
        return self.server.run(*args, check=check)

    def start(self):
        self.server.start()

    def stop(self):
        self.server.kill()
        self.pg_cluster.destroy()

    # Fields that carry a credential, in requests or answers (buf curl's JSON names).
    SECRET_FIELDS = {"password", "secret", "key", "newPassword", "generatedPassword",
                     "adminPassword", "newSecret", "refreshToken", "refresh_token", "accessToken",
                     "token", "admin_password", "new_secret"}

    def note_secrets(self, value):
        """Remembers every credential seen in `value` (nested JSON), for the log and audit grep."""
        if isinstance(value, dict):
            for k, v in value.items():
                if k in self.SECRET_FIELDS and isinstance(v, str) and len(v) >= 8:
                    self.handed_out.add(v)
                else:
                    self.note_secrets(v)
        elif isinstance(value, list):
            for v in value:
                self.note_secrets(v)

    def audit_rows(self):
        """Every audit row, as JSON text, read with psql."""
        out = subprocess.run(["psql", self.pg_cluster.url, "-At", "-c",
                              "SELECT row_to_json(a)::text FROM audit_events a"],
                             capture_output=True, text=True, check=True, timeout=60)
        return out.stdout

    def curl_at(self, port, method, body=None):
        """`curl` against another server's gRPC port."""
        return self.curl(method, body, port=port)

    def curl(self, method, body=None, token=None, list_methods=False, trailers=None, port=None):
        """Calls `method` with buf curl; returns (ok, parsed JSON response or error). With
        `trailers` (a dict), fills it with the trailing metadata buf curl reports (-v)."""
        port = port or self.grpc_port
        cmd = [self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge"]
        if trailers is not None:
            cmd.append("-v")
        if token:
            cmd += ["-H", f"authorization: Bearer {token}"]
        if list_methods:
            cmd += ["--list-methods", f"http://127.0.0.1:{port}"]
        else:
            cmd += ["-d", json.dumps(body or {}), f"http://127.0.0.1:{port}/{method}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if list_methods:
            return out.returncode == 0, out.stdout
        self.note_secrets(body)  # passwords and secrets sent, right or wrong
        stderr = out.stderr
        if trailers is not None:
            # -v lines start "buf: "; "buf: < (#N) Name: value" is a header or trailer of
            # stream N, and the method's own call is the stream opened after "Invoking RPC".
            kept, stream = [], None
            for line in stderr.splitlines():
                if not line.startswith("buf: "):
                    kept.append(line)
                    continue
                opened = re.match(r"buf: > \(#(\d+)\) POST /" + re.escape(method) + "$", line)
                if opened:
                    stream = opened.group(1)
                got = re.match(r"buf: < \(#(\d+)\) ([^:]+): (.*)$", line)
                if got and got.group(1) == stream:
                    trailers[got.group(2).lower()] = got.group(3)
            stderr = "\n".join(kept)
        if out.returncode == 0:
            answer = json.loads(out.stdout or "{}")
            self.note_secrets(answer)
            return True, answer
        start = stderr.find("{")
        return False, json.loads(stderr[start:]) if start >= 0 else {"message": stderr}


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera()
        boot = cls.t.tessera("bootstrap", "--org", "acme", "--admin", "admin")
        cls.admin = json.loads(boot.stdout)
        cls.t.start()
        cls.secrets_handed_out = []

    @classmethod
    def tearDownClass(cls):
        cls.t.stop()

    def login(self, username, password, org="acme"):
        return self.t.curl("tessera.v1.TokenService/IssueToken", {
            "password": {"org_slug": org, "username": username, "password": password}})

    def admin_token(self):
        ok, resp = self.login("admin", self.admin["password"])
        self.assertTrue(ok, resp)
        return resp["accessToken"]

    def introspect(self, caller, token):
        ok, resp = self.t.curl("tessera.v1.TokenService/Introspect", {"token": token}, caller)
        self.assertTrue(ok, resp)
        return resp

    def test_01_bootstrap_prints_credentials_once(self):
        self.assertEqual(set(self.admin), {"org_id", "org_slug", "account_id", "username", "password"})
        again = self.t.tessera("bootstrap", "--org", "acme", "--admin", "admin")
        self.assertEqual(again.returncode, 0)
        self.assertNotIn("password", json.loads(again.stdout))
        self.assertIn("already exists", again.stderr)
        self.assertNotIn(self.admin["password"], again.stdout + again.stderr)

    def test_02_reflection_lists_the_services(self):
        ok, out = self.t.curl(None, list_methods=True)
        self.assertTrue(ok, out)
        for service in ("tessera.v1.TokenService/IssueToken", "tessera.v1.AdminService/CreateAccount",
                        "grpc.health.v1.Health/Check"):
            self.assertIn(service, out)

    def test_03_admin_login_introspects_active_with_org_and_admin(self):
        token = self.admin_token()
        r = self.introspect(token, token)
        self.assertTrue(r["active"])
        self.assertEqual(r["orgId"], self.admin["org_id"])
        self.assertEqual(r["sub"], self.admin["account_id"])
        self.assertEqual(r["scopes"], ["admin"])

    def test_04_unassign_role_and_disable_take_effect_on_the_same_token(self):
        admin = self.admin_token()
        ok, resp = self.t.curl("tessera.v1.AdminService/CreateRole",
                               {"name": "scheduler", "scopes": ["read:shifts", "write:shifts"]}, admin)
        self.assertTrue(ok, resp)
        ok, resp = self.t.curl("tessera.v1.AdminService/CreateAccount", {
            "kind": "ACCOUNT_KIND_USER", "username": "alice", "email": "alice@example.com",
            "password": "alice-password-1", "roles": ["scheduler"]}, admin)
        self.assertTrue(ok, resp)
        alice_id = resp["account"]["id"]
        ok, login = self.login("alice@example.com", "alice-password-1")
        self.assertTrue(ok, login)
        token = login["accessToken"]
        self.assertEqual(sorted(self.introspect(admin, token)["scopes"]), ["read:shifts", "write:shifts"])

        ok, resp = self.t.curl("tessera.v1.AdminService/UnassignRole",
                               {"account_id": alice_id, "role": "scheduler"}, admin)
        self.assertTrue(ok, resp)
        r = self.introspect(admin, token)
        self.assertTrue(r["active"])
        self.assertNotIn("scopes", r)

        ok, resp = self.t.curl("tessera.v1.AdminService/DisableAccount", {"account_id": alice_id}, admin)
        self.assertTrue(ok, resp)
        self.assertEqual(self.introspect(admin, token), {})  # active: false, and nothing else

    def test_04b_refresh_rotates_and_a_retry_gets_the_same_child(self):
        ok, login = self.login("admin", self.admin["password"])
        self.assertTrue(ok, login)
        r1 = login["refreshToken"]
        ok, first = self.t.curl("tessera.v1.TokenService/Refresh", {"refresh_token": r1})
        self.assertTrue(ok, first)
        self.assertNotEqual(first["refreshToken"], r1)
        ok, again = self.t.curl("tessera.v1.TokenService/Refresh", {"refresh_token": r1})
        self.assertTrue(ok, again)  # inside the 10 s grace window: the same child
        self.assertEqual(again["refreshToken"], first["refreshToken"])
        self.assertTrue(self.introspect(self.admin_token(), first["accessToken"])["active"])
        ok, bad = self.t.curl("tessera.v1.TokenService/Refresh", {"refresh_token": "rt_nope"})
        self.assertFalse(ok)
        self.assertEqual(bad["code"], "unauthenticated")

    def test_04c_revoked_access_token_introspects_inactive(self):
        admin = self.admin_token()
        ok, login = self.login("admin", self.admin["password"])
        self.assertTrue(ok, login)
        self.assertTrue(self.introspect(admin, login["accessToken"])["active"])
        ok, resp = self.t.curl("tessera.v1.TokenService/Revoke", {"token": login["accessToken"]}, admin)
        self.assertTrue(ok, resp)
        self.assertEqual(self.introspect(admin, login["accessToken"]), {})
        ok, resp = self.t.curl("tessera.v1.TokenService/Revoke", {"token": "garbage"}, admin)
        self.assertTrue(ok, resp)  # RFC 7009: unknown tokens succeed

    def test_05_wrong_password_looks_like_unknown_user(self):
        ok_wrong, wrong = self.login("admin", "definitely-wrong")
        ok_unknown, unknown = self.login("nobody", "definitely-wrong")
        self.assertFalse(ok_wrong)
        self.assertFalse(ok_unknown)
        self.assertEqual(wrong["code"], "unauthenticated")
        self.assertEqual(wrong, unknown)

    def test_06_jwks_over_grpc_and_http_agree(self):
        admin = self.admin_token()
        ok, resp = self.t.curl("tessera.v1.TokenService/GetJwks", {}, admin)
        self.assertTrue(ok, resp)
        http = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{self.t.http_port}/.well-known/jwks.json"))
        self.assertEqual(json.loads(resp["jwksJson"]), http)
        self.assertEqual(http["keys"][0]["alg"], "ES256")
        self.assertNotIn("d", http["keys"][0])  # never the private part

    def test_07_health_follows_the_database(self):
        ok, resp = self.t.curl("grpc.health.v1.Health/Check")
        self.assertEqual(resp, {"status": "SERVING"})
        self.t.pg("stop")
        try:
            self.assertTrue(self.wait_for_health("NOT_SERVING"), "health stayed SERVING")
            with self.assertRaises(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.t.http_port}/readyz")
        finally:
            self.t.pg("start")
        self.assertTrue(self.wait_for_health("SERVING"), "health did not come back")
        self.assertTrue(self.login("admin", self.admin["password"])[0])

    def wait_for_health(self, want, seconds=15):
        deadline = time.time() + seconds
        while time.time() < deadline:
            ok, resp = self.t.curl("grpc.health.v1.Health/Check")
            if ok and resp.get("status") == want:
                return True
            time.sleep(0.3)
        return False

    def test_08_bad_setting_stops_start_naming_it(self):
        out = subprocess.run([ARGS.binary, "serve", "--signing_alg=HS256"], env=self.t.env,
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("signing_alg", out.stderr)
        env = dict(self.t.env)
        del env["TESSERA_PEPPER"]
        out = subprocess.run([ARGS.binary, "serve"], env=env, capture_output=True, text=True,
                             timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("pepper", out.stderr)

    def test_08b_the_command_line_says_what_it_takes(self):
        def run(*args):
            return subprocess.run([ARGS.binary, *args], env=self.t.env, capture_output=True,
                                  text=True, timeout=30)
        out = run("bogus")
        self.assertEqual(out.returncode, 2)
        self.assertIn('unknown command "bogus"', out.stderr)
        out = run("help")
        self.assertEqual(out.returncode, 0, out.stderr)
        for command in ("serve", "migrate", "bootstrap", "version"):
            self.assertIn(command, out.stdout)
        out = run("serve", "--help")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("--database_url", out.stdout)
        self.assertIn("TESSERA_DATABASE_URL", out.stdout)
        out = run("serve", "--no_such_setting=1")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--no_such_setting", out.stderr)
        out = run("bootstrap", "--admin", "x")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--org", out.stderr)

    def test_09_protos_pass_buf_lint(self):
        out = subprocess.run([self.t.buf, "lint"], cwd=os.path.join(ARGS.source, "proto"),
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_12_guessing_locks_out_and_says_when_to_retry(self):
        admin = self.admin_token()
        ok, _ = self.t.curl("tessera.v1.AdminService/CreateAccount", {
            "kind": "ACCOUNT_KIND_USER", "username": "mallory-target",
            "password": "target-password-1"}, admin)
        self.assertTrue(ok)
        for i in range(5):
            ok, err = self.login("mallory-target", f"guess-number-{i}")
            self.assertEqual(err.get("code"), "unauthenticated", err)
        trailers = {}
        ok, err = self.t.curl("tessera.v1.TokenService/IssueToken", {"password": {
            "org_slug": "acme", "username": "mallory-target", "password": "target-password-1"}},
            trailers=trailers)
        self.assertFalse(ok)
        self.assertEqual(err.get("code"), "resource_exhausted", err)
        # The README's promise: whole seconds until the lock ends (60 for a first lock).
        self.assertIn("retry-after", trailers, trailers)
        self.assertTrue(0 < int(trailers["retry-after"]) <= 60, trailers)
        ok, events = self.t.curl("tessera.v1.AdminService/ListAuditEvents",
                                 {"action": "auth.lockout"}, admin)
        self.assertTrue(ok, events)
        self.assertEqual(len(events["events"]), 1)

    def exercise(self):
        """A little of everything, so a test that reads the log or the audit trail has something
        to read even when it runs alone: logins right and wrong, introspection, a refresh, a
        service token made, used, rotated and revoked."""
        admin = self.admin_token()
        for _ in range(6):
            ok, login = self.login("admin", self.admin["password"])
            self.assertTrue(ok, login)
            self.assertTrue(self.introspect(admin, login["accessToken"])["active"])
            ok, _ = self.t.curl("tessera.v1.TokenService/Refresh",
                                {"refresh_token": login["refreshToken"]})
            self.assertTrue(ok)
        # Two failures only: the address's own limit (20) is shared by the whole class.
        self.assertFalse(self.login("admin", "wrong-password-exercise")[0])
        self.assertFalse(self.login("nobody-exercise", "wrong-password")[0])
        ok, created = self.t.curl("tessera.v1.AdminService/CreateApiKey", {
            "name": "exercise", "kind": "API_KEY_KIND_SERVICE_TOKEN", "scopes": ["x:y"]}, admin)
        self.assertTrue(ok, created)
        ok, rotated = self.t.curl("tessera.v1.TokenService/Rotate", {"service_token_secret": {
            "api_key_id": created["apiKey"]["id"], "overlap_seconds": 0}}, admin)
        self.assertTrue(ok, rotated)
        self.assertTrue(self.t.curl("tessera.v1.TokenService/Introspect", {
            "token": created["key"], "secret": rotated["newSecret"]}, admin)[1].get("active"))
        ok, _ = self.t.curl("tessera.v1.TokenService/Revoke",
                            {"api_key_id": created["apiKey"]["id"]}, admin)
        self.assertTrue(ok)

    def test_97_the_log_is_json_lines_with_one_line_per_rpc(self):
        self.exercise()
        with open(self.t.log_path) as f:
            lines = f.read().splitlines()
        records = [json.loads(line) for line in lines]  # every line, or this fails
        for r in records:
            self.assertTrue({"time", "level", "event"} <= set(r), r)
        rpcs = [r for r in records if r["event"] == "rpc"]
        fields = {"request_id", "method", "code", "duration_ms", "org_id", "principal_id", "peer"}
        for r in rpcs:
            self.assertTrue(fields <= set(r), r)
            self.assertGreaterEqual(float(r["duration_ms"]), 0)
        by_method = {}
        for r in rpcs:
            by_method.setdefault(r["method"], []).append(r)
        print(f"\n  {len(lines)} log lines, {len(rpcs)} of them RPCs over {len(by_method)} methods",
              file=sys.stderr)
        logins = [r for r in by_method["tessera.v1.TokenService/IssueToken"] if r["code"] == "OK"]
        self.assertTrue(logins)
        self.assertTrue(all(r["org_id"] == self.admin["org_id"] for r in logins
                            if r["principal_id"] == self.admin["account_id"]))
        introspections = by_method["tessera.v1.TokenService/Introspect"]
        self.assertTrue(all(r["principal_id"] and r["request_id"] for r in introspections))
        self.assertTrue(all(r["peer"].startswith("ipv4:127.0.0.1:") for r in rpcs))
        refused = [r for r in rpcs if r["code"] == "Unauthenticated"]
        self.assertTrue(refused)  # wrong passwords were tried; their lines name no principal
        self.assertTrue(all(r["principal_id"] == "" for r in refused))

    def test_98_no_secret_in_the_logs_or_the_audit_log(self):
        """Everything the server logged and every audit row of the whole run, against every
        password, key, secret, refresh and access token that crossed the wire."""
        self.exercise()
        with open(self.t.log_path) as f:
            log = f.read()
        audit = self.t.audit_rows()
        self.assertGreater(len(audit.splitlines()), 20)  # the run did write an audit trail
        handed_out = {self.admin["password"], *self.t.handed_out, *self.secrets_handed_out}
        self.assertGreater(len(handed_out), 20)
        print(f"\n  {len(handed_out)} credentials checked against {len(log.splitlines())} log "
              f"lines and {len(audit.splitlines())} audit rows", file=sys.stderr)
        for secret in handed_out:
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, audit)

    def test_11_service_token_lifecycle_with_buf_curl(self):
        admin = self.admin_token()
        ok, created = self.t.curl("tessera.v1.AdminService/CreateApiKey", {
            "name": "deployer", "kind": "API_KEY_KIND_SERVICE_TOKEN",
            "scopes": ["deploy:run", "tokens:introspect"]}, admin)
        self.assertTrue(ok, created)
        key, secret = created["key"], created["secret"]
        self.assertRegex(key, r"^tss_[0-9a-f]{64}$")
        self.assertRegex(secret, r"^[0-9a-f]{64}$")
        self.assertEqual(created["apiKey"]["scopes"], ["deploy:run", "tokens:introspect"])
        ok, listed = self.t.curl("tessera.v1.AdminService/ListApiKeys", {}, admin)
        self.assertTrue(ok, listed)
        self.assertNotIn(key, json.dumps(listed))
        self.assertNotIn(secret, json.dumps(listed))
        self.secrets_handed_out += [key, secret]

        self.assertEqual(self.introspect(admin, key), {})  # no secret: inactive
        ok, r = self.t.curl("tessera.v1.TokenService/Introspect", {"token": key, "secret": secret}, admin)
        self.assertTrue(ok, r)
        self.assertTrue(r["active"])
        self.assertEqual(r["tokenType"], "service_token")

        ok, jwt = self.t.curl("tessera.v1.TokenService/IssueToken", {
            "service_token": {"token": key, "secret": secret}, "scopes": ["tokens:introspect"]})
        self.assertTrue(ok, jwt)
        self.assertNotIn("refreshToken", jwt)
        r = self.introspect(admin, jwt["accessToken"])
        self.assertEqual(r["scopes"], ["tokens:introspect"])
        self.assertEqual(r["clientId"], created["apiKey"]["id"])

        ok, rotated = self.t.curl("tessera.v1.TokenService/Rotate", {
            "service_token_secret": {"api_key_id": created["apiKey"]["id"], "overlap_seconds": 3600}},
            admin)
        self.assertTrue(ok, rotated)
        self.secrets_handed_out.append(rotated["newSecret"])
        for s in (secret, rotated["newSecret"]):  # both work during the overlap
            ok, r = self.t.curl("tessera.v1.TokenService/Introspect", {"token": key, "secret": s}, admin)
            self.assertTrue(r.get("active"), r)

        ok, resp = self.t.curl("tessera.v1.TokenService/Revoke", {"api_key_id": created["apiKey"]["id"]}, admin)
        self.assertTrue(ok, resp)
        ok, r = self.t.curl("tessera.v1.TokenService/Introspect",
                            {"token": key, "secret": rotated["newSecret"]}, admin)
        self.assertEqual(r, {})
        self.assertEqual(self.introspect(admin, jwt["accessToken"]), {})  # died with its key

    def test_99_sigterm_drains_and_exits_zero(self):
        # A replica of its own on the same database, so the other tests keep theirs.
        other = Server(ARGS.binary, self.t.pg_cluster, self.t.pg_cluster.tmp,
                       {k: v for k, v in self.t.env.items() if k.startswith("TESSERA_")},
                       name="sigterm")
        other.start()
        ok, resp = self.t.curl_at(other.grpc_port, "grpc.health.v1.Health/Check")
        self.assertEqual(resp, {"status": "SERVING"})
        other.process.send_signal(signal.SIGTERM)
        self.assertEqual(other.process.wait(timeout=30), 0)
        other.kill()


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
