#!/usr/bin/python3
"""/metrics end to end: a running `tessera serve` is called with buf curl once for each outcome
(every grant, refusal reason and revocation kind), and each call moves its own counter and no
other; its /metrics passes `promtool check metrics` with no error and no lint warning; and a
real `prometheus` started on loopback scrapes it and answers a query on every family and every
query of the Grafana dashboard (helm/tessera/dashboards/tessera.json).

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
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
# tessera's counters of call outcomes: one call of each kind must move its own and no other.
OUTCOME_FAMILIES = ("tessera_tokens_issued_total", "tessera_introspections_total",
                    "tessera_auth_failures_total", "tessera_refresh_reuse_detected_total",
                    "tessera_revocations_total", "tessera_password_hash_refused_total",
                    "tessera_ext_authz_checks_total")


def key(name_and_labels):
    """'name{b="2",a="1"}' -> (name, frozenset of label pairs): the order of labels is free."""
    name, _, labels = name_and_labels.partition("{")
    return name, frozenset(LABEL.findall(labels))


def samples(text):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            out[(m.group(1), frozenset(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return out


def outcome_counters(text):
    return outcome_counters_of(samples(text))


def outcome_counters_of(parsed):
    return {k: v for k, v in parsed.items() if k[0] in OUTCOME_FAMILIES}


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        # No refresh grace: a spent refresh token presented again is reuse at once.
        cls.server = Server(ARGS.binary, cls.pg, cls.pg.tmp, env={"TESSERA_REFRESH_GRACE": "0"})
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
        return samples(text).get(key(name_and_labels))

    def login(self):
        ok, login = self.curl("tessera.v1.TokenService/IssueToken", {
            "password": {"org_slug": "acme", "username": "admin",
                         "password": self.boot["password"]}})
        self.assertTrue(ok, login)
        return login

    def moves(self, expected, action):
        """Runs `action` and checks that of tessera's outcome counters exactly `expected`
        moved, each by its amount; returns what `action` returned."""
        before = outcome_counters(self.scrape())
        result = action()
        after = outcome_counters(self.scrape())
        moved = {k: after.get(k, 0) - before.get(k, 0) for k in after
                 if after.get(k, 0) != before.get(k, 0)}
        self.assertEqual(moved, {key(k): v for k, v in expected.items()})
        return result

    def call_ok(self, method, body, token=None):
        ok, r = self.curl(method, body, token)
        self.assertTrue(ok, r)
        return r

    def call_refused(self, method, body, token=None):
        ok, r = self.curl(method, body, token)
        self.assertFalse(ok, r)
        return r

    def test_each_outcome_moves_its_own_counter_and_no_other(self):
        T, A = "tessera.v1.TokenService/", "tessera.v1.AdminService/"
        issued = 'tessera_tokens_issued_total{grant="%s"}'
        failed = 'tessera_auth_failures_total{reason="%s"}'
        revoked = 'tessera_revocations_total{kind="%s"}'
        token = self.moves({issued % "password": 1}, self.login)["accessToken"]
        family = self.login()  # a second session, whose family the reuse below revokes
        self.moves({issued % "refresh": 1}, lambda: self.call_ok(
            T + "Refresh", {"refresh_token": family["refreshToken"]}))
        # The spent refresh token again (the server runs with no grace): reuse, family revoked.
        self.moves({failed % "invalid_refresh_token": 1, "tessera_refresh_reuse_detected_total": 1},
                   lambda: self.call_refused(T + "Refresh",
                                             {"refresh_token": family["refreshToken"]}))
        r = self.moves({'tessera_introspections_total{result="active"}': 1},
                       lambda: self.call_ok(T + "Introspect", {"token": token}, token))
        self.assertTrue(r["active"])
        self.moves({'tessera_introspections_total{result="inactive"}': 1},
                   lambda: self.call_ok(T + "Introspect", {"token": "garbage"}, token))
        self.moves({failed % "invalid_bearer": 1},
                   lambda: self.call_refused(T + "GetJwks", {}, "not-a-token"))
        wrong = {"password": {"org_slug": "acme", "username": "admin", "password": "wrong"}}
        self.moves({failed % "invalid_credentials": 1},
                   lambda: self.call_refused(T + "IssueToken", wrong))
        self.moves({failed % "invalid_refresh_token": 1},
                   lambda: self.call_refused(T + "Refresh", {"refresh_token": "rt_" + "0" * 43}))
        # A name that does not exist locks out like one that does: 5 failures, then locked.
        ghost = {"password": {"org_slug": "acme", "username": "ghost", "password": "guess"}}
        self.moves({failed % "invalid_credentials": 5},
                   lambda: [self.call_refused(T + "IssueToken", ghost) for _ in range(5)])
        self.moves({failed % "locked_out": 1}, lambda: self.call_refused(T + "IssueToken", ghost))
        # Creating keys and accounts issues nothing.
        user, service, victim = self.moves({}, lambda: (
            self.call_ok(A + "CreateApiKey", {"name": "m-user", "kind": "API_KEY_KIND_USER_TOKEN"},
                         token),
            self.call_ok(A + "CreateApiKey", {"name": "m-service", "scopes": ["x:y"],
                                              "kind": "API_KEY_KIND_SERVICE_TOKEN"}, token),
            self.call_ok(A + "CreateAccount", {"kind": "ACCOUNT_KIND_USER", "username": "victim",
                                               "password": "victim-password-1"}, token)))
        self.moves({issued % "api_key": 1}, lambda: self.call_ok(
            T + "IssueToken", {"api_key": {"key": user["key"]}}))
        self.moves({issued % "service_token": 1}, lambda: self.call_ok(
            T + "IssueToken", {"service_token": {"token": service["key"],
                                                 "secret": service["secret"]}}))
        second = self.moves({issued % "password": 1}, self.login)
        self.moves({revoked % "access_token": 1},
                   lambda: self.call_ok(T + "Revoke", {"token": second["accessToken"]}, token))
        self.moves({revoked % "refresh_family": 1},
                   lambda: self.call_ok(T + "Revoke", {"token": second["refreshToken"]}, token))
        self.moves({revoked % "api_key": 1},
                   lambda: self.call_ok(T + "Revoke", {"api_key_id": user["apiKey"]["id"]}, token))
        self.moves({revoked % "account": 1}, lambda: self.call_ok(
            T + "Revoke", {"account_id": victim["account"]["id"]}, token))
        # A proxy's Check (described by reflection): each decision is counted once, and a
        # refused credential as the refusal it is; the Check call itself succeeds every time.
        C = "envoy.service.auth.v3.Authorization/Check"
        decided = 'tessera_ext_authz_checks_total{decision="%s"}'

        def proxied(authorization, extensions=None):
            http = {"headers": {":path": "/", "authorization": authorization}}
            return {"attributes": {"request": {"http": http},
                                   "contextExtensions": extensions or {}}}

        self.moves({decided % "allowed": 1},
                   lambda: self.call_ok(C, proxied(f"Bearer {token}"), token))
        self.moves({decided % "unauthenticated": 1, failed % "invalid_bearer": 1},
                   lambda: self.call_ok(C, proxied("Bearer not-a-token"), token))
        other_org = {"tessera.org_id": "00000000-0000-4000-8000-000000000000"}
        self.moves({decided % "forbidden": 1},
                   lambda: self.call_ok(C, proxied(f"Bearer {token}", other_org), token))
        self.moves({decided % "error": 1},
                   lambda: self.call_ok(C, proxied(f"Bearer {token}", {"tessera.typo": "x"}),
                                        token))

        text = self.scrape()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "", "promtool lint warnings")
        introspect = 'grpc_service="tessera.v1.TokenService",grpc_method="Introspect"'
        self.assertGreaterEqual(
            self.sample(text, f'grpc_server_handled_total{{{introspect},grpc_code="OK"}}'), 2)
        self.assertGreaterEqual(self.sample(text, f"grpc_server_started_total{{{introspect}}}"), 2)
        self.assertGreaterEqual(
            self.sample(text, f"grpc_server_handling_seconds_count{{{introspect}}}"), 2)
        self.assertGreaterEqual(self.sample(text, 'grpc_server_handled_total{grpc_service='
                                            '"tessera.v1.TokenService",grpc_method="GetJwks",'
                                            'grpc_code="Unauthenticated"}'), 1)
        self.assertGreaterEqual(self.sample(text, 'tessera_snapshot_entries{kind="accounts"}'), 1)
        self.assertIsNotNone(self.sample(text, "tessera_signing_key_age_seconds"))
        self.assertIsNotNone(self.sample(text, 'tessera_db_pool_connections{state="idle"}'))
        self.assertGreaterEqual(self.sample(text, "tessera_change_feed_lag_seconds_count"), 1)
        self.assertEqual(self.sample(text, 'tessera_build_info{version="0.1.0"}'), 1)
        for up in ("tessera_serving", "tessera_database_up", "tessera_change_feed_in_sync"):
            self.assertEqual(self.sample(text, up), 1, up)
        # The hashing pool: idle again, nothing refused, the queue limit as configured.
        self.assertEqual(self.sample(text, "tessera_password_hash_queue_depth"), 0)
        self.assertGreater(self.sample(text, "tessera_password_hash_queue_capacity"), 0)
        self.assertEqual(self.sample(text, 'tessera_password_hash_workers{state="busy"}'), 0)
        self.assertGreaterEqual(self.sample(text, 'tessera_password_hash_workers{state="idle"}'), 1)
        self.assertEqual(self.sample(text, "tessera_password_hash_refused_total"), 0)
        # The process metrics every client library exports, with plausible values.
        pid = self.server.process.pid
        with open(f"/proc/{pid}/status") as f:
            rss_kib = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        self.assertLess(abs(self.sample(text, "process_resident_memory_bytes") - rss_kib * 1024),
                        64 << 20)
        self.assertGreater(self.sample(text, "process_virtual_memory_bytes"), rss_kib * 1024 / 2)
        self.assertGreater(self.sample(text, "process_open_fds"), 3)
        self.assertGreater(self.sample(text, "process_max_fds"), 3)
        self.assertGreater(self.sample(text, "process_cpu_seconds_total"), 0)
        # When the kernel says the process started: boot time plus field 22 of its stat, in ticks.
        with open("/proc/stat") as f:
            boot = int(re.search(r"^btime (\d+)$", f.read(), re.M).group(1))
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        self.assertAlmostEqual(self.sample(text, "process_start_time_seconds"),
                               boot + ticks / os.sysconf("SC_CLK_TCK"), delta=0.02)
        self.assertNotIn(self.boot["password"], text)
        self.assertNotIn(token, text)

    def test_a_real_prometheus_scrapes_and_answers(self):
        token = self.login()["accessToken"]
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

        def query(promql, bound=10.0):
            """The answer to `promql`, retried for `bound` seconds while empty: one scrape that
            times out on a loaded machine marks every series stale until the next."""
            url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(promql)}"
            give_up = time.time() + bound
            while True:
                with urllib.request.urlopen(url, timeout=5) as r:
                    answer = json.loads(r.read())
                self.assertEqual(answer["status"], "success", promql)
                if answer["data"]["result"] or time.time() > give_up:
                    return answer["data"]["result"]
                time.sleep(0.5)

        # Rates need two samples in their window: wait for a few more scrapes.
        scrapes = lambda: float(query('count_over_time(up{job="tessera"}[1m])')[0]["value"][1])
        give_up = time.time() + SCRAPE_BOUND
        while scrapes() < 4:
            self.assertLess(time.time(), give_up, "prometheus scraped fewer than 4 times")
            time.sleep(0.5)
        # Every family tessera exposes, answered by prometheus.
        families = re.findall(r"^# TYPE (\S+) (\S+)$", self.scrape(), re.M)
        self.assertGreater(len(families), 20)
        for name, kind in families:
            series = name + "_count" if kind == "histogram" else name
            self.assertTrue(query(f'{series}{{job="tessera"}}'), f"no {series} in prometheus")
        # Every query of the Grafana dashboard, as Grafana would send it for job "tessera".
        with open(os.path.join(ARGS.source, "helm/tessera/dashboards/tessera.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        self.assertGreater(len(exprs), 20)
        for expr in exprs:
            promql = expr.replace("$__rate_interval", "1m").replace("$job", "tessera")
            self.assertTrue(query(promql), f"the dashboard's {expr!r} has no answer")
        print(f"  prometheus answered {len(families)} families and {len(exprs)} dashboard "
              "queries", file=sys.stderr)


class Saturation(unittest.TestCase):
    """The password-hashing pool's gauges under a burst of logins: one slow worker, room for one
    waiting hash, so a burst of four is partly refused with RESOURCE_EXHAUSTED. Each refusal
    moves tessera_password_hash_refused_total and no refusal counter of credentials. (Four, not
    more: the login throttle counts each attempt before its hash, so a fifth concurrent attempt
    on one account would be refused as a lockout instead.)"""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        # About a second a hash on this machine class: the burst overlaps it for sure.
        cls.server = Server(ARGS.binary, cls.pg, cls.pg.tmp, name="saturated", env={
            "TESSERA_PASSWORD_THREADS": "1", "TESSERA_PASSWORD_QUEUE": "1",
            "TESSERA_ARGON2_ITERATIONS": "100"})
        cls.boot = json.loads(cls.server.run("bootstrap", "--org", "acme", "--admin",
                                             "admin").stdout)
        cls.server.start()
        cls.buf = os.path.join(ARGS.source, "tools/node_modules/.bin/buf")

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.pg.destroy()

    def scrape(self):
        url = f"http://127.0.0.1:{self.server.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return samples(r.read().decode())

    def test_a_burst_of_logins_shows_busy_queued_and_refused(self):
        body = json.dumps({"password": {"org_slug": "acme", "username": "admin",
                                        "password": self.boot["password"]}})
        before = self.scrape()
        self.assertEqual(before[key("tessera_password_hash_queue_capacity")], 1)
        self.assertEqual(before[key('tessera_password_hash_workers{state="idle"}')], 1)
        def login():
            return subprocess.Popen(
                [self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", body,
                 f"http://{self.server.grpc_target}/tessera.v1.TokenService/IssueToken"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # One login first, until the worker has taken it; then three more at once.
        calls = [login()]
        give_up = time.time() + 30
        while self.scrape()[key('tessera_password_hash_workers{state="busy"}')] < 1:
            self.assertLess(time.time(), give_up, "the first login never reached the worker")
            time.sleep(0.01)
        calls += [login() for _ in range(3)]
        busy = queued = 0
        while any(c.poll() is None for c in calls):
            now = self.scrape()
            busy = max(busy, now[key('tessera_password_hash_workers{state="busy"}')])
            queued = max(queued, now[key("tessera_password_hash_queue_depth")])
            time.sleep(0.05)
        answers = [json.loads(c.stdout.read() or c.stderr.read() or "{}") for c in calls]
        refused = sum(a.get("message", "").startswith("password hashing capacity exhausted")
                      for a in answers)
        issued = sum("accessToken" in a for a in answers)
        self.assertEqual(refused + issued, len(calls), answers)
        self.assertGreaterEqual(refused, 1, answers)
        self.assertEqual((busy, queued), (1, 1))
        after = self.scrape()
        moved = {k: after[k] - before.get(k, 0) for k in outcome_counters_of(after)
                 if after[k] != before.get(k, 0)}
        self.assertEqual(moved, {key("tessera_password_hash_refused_total"): refused,
                                 key('tessera_tokens_issued_total{grant="password"}'): issued})
        self.assertEqual(after[key('tessera_password_hash_workers{state="busy"}')], 0)
        self.assertEqual(after[key("tessera_password_hash_queue_depth")], 0)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
