#!/usr/bin/python3
"""/metrics end to end: a running `tessera serve` is called with buf curl, its /metrics passes
`promtool check metrics` with no error and no lint warning and counts the calls, and a real
`prometheus` started on loopback scrapes it and answers a query for
grpc_server_handled_total{grpc_method="Introspect"}.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/metrics_test.py --binary build/server/tessera --source .
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

from harness import Postgres, Server, parse_args

ARGS = None
SCRAPE_BOUND = 30.0  # seconds for prometheus to start, scrape and answer


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        cls.server = Server(ARGS.binary, cls.pg, cls.pg.tmp)
        cls.boot = json.loads(cls.server.run("bootstrap", "--org", "acme", "--admin",
                                             "admin").stdout)
        cls.server.start()
        cls.buf = os.path.join(ARGS.source, "tools/node_modules/.bin/buf")
        cls.prometheus = None

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus:
            cls.prometheus.kill()
            cls.prometheus.wait()
            cls.prometheus_log.close()
        cls.server.kill()
        cls.pg.destroy()

    def curl(self, method, body, token=None):
        cmd = [self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
               "-d", json.dumps(body), f"http://{self.server.grpc_target}/{method}"]
        if token:
            cmd[2:2] = ["-H", f"authorization: Bearer {token}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return out.returncode == 0, json.loads(out.stdout or out.stderr or "{}")

    def scrape(self):
        url = f"http://127.0.0.1:{self.server.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return r.read().decode()

    def sample(self, text, name_and_labels):
        for line in text.splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def login(self):
        ok, login = self.curl("tessera.v1.TokenService/IssueToken", {
            "password": {"org_slug": "acme", "username": "admin",
                         "password": self.boot["password"]}})
        self.assertTrue(ok, login)
        return login["accessToken"]

    def test_promtool_passes_and_the_calls_are_counted(self):
        introspect = 'grpc_service="tessera.v1.TokenService",grpc_method="Introspect"'
        counted = {
            "ok": f'grpc_server_handled_total{{{introspect},grpc_code="OK"}}',
            "started": f"grpc_server_started_total{{{introspect}}}",
            "timed": f"grpc_server_handling_seconds_count{{{introspect}}}",
            "active": 'tessera_introspections_total{result="active"}',
            "inactive": 'tessera_introspections_total{result="inactive"}',
            "issued": 'tessera_tokens_issued_total{grant="password"}',
            "issued_api_key": 'tessera_tokens_issued_total{grant="api_key"}',
            "issued_service_token": 'tessera_tokens_issued_total{grant="service_token"}',
            "bad_bearer": 'tessera_auth_failures_total{reason="invalid_bearer"}',
            "bad_password": 'tessera_auth_failures_total{reason="invalid_credentials"}',
            "bad_refresh": 'tessera_auth_failures_total{reason="invalid_refresh_token"}',
            "locked_out": 'tessera_auth_failures_total{reason="locked_out"}',
            "jwks_refused": 'grpc_server_handled_total{grpc_service="tessera.v1.TokenService",'
                            'grpc_method="GetJwks",grpc_code="Unauthenticated"}',
        }
        # Counted from here: the other test shares the server and may have run first.
        before = self.scrape()
        base = {k: self.sample(before, v) or 0 for k, v in counted.items()}
        token = self.login()
        for _ in range(3):
            ok, r = self.curl("tessera.v1.TokenService/Introspect", {"token": token}, token)
            self.assertTrue(ok and r["active"], r)
        ok, _ = self.curl("tessera.v1.TokenService/Introspect", {"token": "garbage"}, token)
        self.assertTrue(ok)
        ok, _ = self.curl("tessera.v1.TokenService/GetJwks", {}, "not-a-token")
        self.assertFalse(ok)
        # Each refused credential by its own reason, and by nothing else.
        ok, _ = self.curl("tessera.v1.TokenService/IssueToken", {
            "password": {"org_slug": "acme", "username": "admin", "password": "wrong"}})
        self.assertFalse(ok)
        ok, _ = self.curl("tessera.v1.TokenService/Refresh", {"refresh_token": "rt_" + "0" * 43})
        self.assertFalse(ok)
        # The key grants are counted by their own grant.
        ok, user = self.curl("tessera.v1.AdminService/CreateApiKey", {
            "name": "m-user", "kind": "API_KEY_KIND_USER_TOKEN"}, token)
        self.assertTrue(ok, user)
        ok, service = self.curl("tessera.v1.AdminService/CreateApiKey", {
            "name": "m-service", "kind": "API_KEY_KIND_SERVICE_TOKEN", "scopes": ["x:y"]}, token)
        self.assertTrue(ok, service)
        ok, r = self.curl("tessera.v1.TokenService/IssueToken", {"api_key": {"key": user["key"]}})
        self.assertTrue(ok, r)
        ok, r = self.curl("tessera.v1.TokenService/IssueToken", {
            "service_token": {"token": service["key"], "secret": service["secret"]}})
        self.assertTrue(ok, r)
        text = self.scrape()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "", "promtool lint warnings")
        delta = {k: (self.sample(text, v) or 0) - base[k] for k, v in counted.items()}
        self.assertEqual(delta, {"ok": 4, "started": 4, "timed": 4, "active": 3, "inactive": 1,
                                 "issued": 1, "issued_api_key": 1, "issued_service_token": 1,
                                 "bad_bearer": 1, "jwks_refused": 1, "bad_password": 1,
                                 "bad_refresh": 1, "locked_out": 0})
        self.assertGreaterEqual(self.sample(text, 'tessera_snapshot_entries{kind="accounts"}'), 1)
        self.assertIsNotNone(self.sample(text, "tessera_signing_key_age_seconds"))
        self.assertIsNotNone(self.sample(text, 'tessera_db_pool_connections{state="idle"}'))
        self.assertIsNotNone(self.sample(text, "tessera_change_feed_lag_seconds_count"))
        self.assertEqual(self.sample(text, 'tessera_build_info{version="0.1.0"}'), 1)
        self.assertNotIn(self.boot["password"], text)
        self.assertNotIn(token, text)

    def test_a_real_prometheus_scrapes_and_answers(self):
        token = self.login()
        for _ in range(2):
            ok, r = self.curl("tessera.v1.TokenService/Introspect", {"token": token}, token)
            self.assertTrue(ok and r["active"], r)
        # What prometheus must come to report: tessera's own count, now.
        expected = self.sample(self.scrape(), 'grpc_server_handled_total{grpc_service='
                               '"tessera.v1.TokenService",grpc_method="Introspect",grpc_code="OK"}')
        self.assertGreaterEqual(expected, 2)
        data = os.path.join(self.pg.tmp, "prometheus")
        os.makedirs(data)
        config = os.path.join(data, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: tessera\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.server.http_port}']\n")
        check = subprocess.run(["promtool", "check", "config", config], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        log_path = os.path.join(data, "prometheus.log")
        log = Metrics.prometheus_log = open(log_path, "w")
        Metrics.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}/tsdb",
             "--web.listen-address=127.0.0.1:0"], stdout=log, stderr=subprocess.STDOUT)
        query = urllib.parse.quote('grpc_server_handled_total{grpc_method="Introspect"}')
        start, result, port = time.time(), [], None
        while time.time() - start < SCRAPE_BOUND:
            if port is None:  # the kernel's choice, as prometheus logs it
                with open(log_path) as f:
                    found = re.search(r'msg="Listening on" address=127\.0\.0\.1:(\d+)', f.read())
                port = found and int(found.group(1))
                if port is None:
                    time.sleep(0.1)
                    continue
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/query?query={query}", timeout=2) as r:
                    result = json.loads(r.read())["data"]["result"]
                ok_codes = [r for r in result if r["metric"]["grpc_code"] == "OK"]
                if ok_codes and float(ok_codes[0]["value"][1]) >= expected:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        print(f"\n  prometheus answered after {time.time() - start:.1f} s: {result}",
              file=sys.stderr)
        self.assertTrue(result, "prometheus never answered the query")
        codes = {r["metric"]["grpc_code"]: float(r["value"][1]) for r in result}
        self.assertGreaterEqual(codes.get("OK", 0), expected)
        self.assertEqual(result[0]["metric"]["job"], "tessera")


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
