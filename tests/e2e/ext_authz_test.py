#!/usr/bin/python3
"""Envoy's external authorization against the built binary, spoken with Envoy's own published
API rather than tessera's copy of it: the v3 protos Envoy publishes (as the npm package
@grpc/grpc-js-xds vendors them) are compiled by Debian's protoc, and CheckRequests are built and
CheckResponses read with those message classes through Debian's grpcio, and once through
`buf curl --schema` on the same descriptors. Checked: tessera's subset keeps Envoy's names and
field numbers; reflection describes the service; an Envoy-shaped request (lower-case headers,
pseudo-headers, source principal, per-route context_extensions) is allowed with the caller's
headers set, forgeries and the credential removed, or denied with 401, 403 and 429; a revocation
and an unassigned role are denied on the next Check on the replica that made them and, within
100 ms, on a second replica; a database outage denies no valid token; every Check is counted.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/ext_authz_test.py --binary build/server/tessera --source .
"""
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from harness import Postgres, Server, load_protos, parse_args

ARGS = None
CHECK = "/envoy.service.auth.v3.Authorization/Check"
# The issue's bound for a second replica; the median of several trials is held to it.
PROPAGATION_BOUND = 0.100
TRIALS = 5


def compile_descriptors(include_dirs, proto, out):
    """A FileDescriptorSet of `proto` and everything it imports, by Debian's protoc."""
    cmd = ["protoc", *[f"-I{d}" for d in include_dirs], "--include_imports", f"-o{out}", proto]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(out, "rb") as f:
        return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def message_classes(fds, names):
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return {n: factory.GetPrototype(pool.FindMessageTypeByName(n)) for n in names}, pool


def envoy_deps(source):
    d = os.path.join(source, "tools/node_modules/@grpc/grpc-js-xds/deps")
    return [os.path.join(d, x) for x in ("envoy-api", "googleapis", "protoc-gen-validate", "xds")]


class ExtAuthz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        tmp = tempfile.mkdtemp(dir=cls.pg.tmp)
        cls.envoy_fds_path = os.path.join(tmp, "envoy.binpb")
        cls.envoy_fds = compile_descriptors(envoy_deps(ARGS.source),
                                            "envoy/service/auth/v3/external_auth.proto",
                                            cls.envoy_fds_path)
        cls.ours_fds = compile_descriptors([os.path.join(ARGS.source, "proto")],
                                           "envoy/service/auth/v3/external_auth.proto",
                                           os.path.join(tmp, "ours.binpb"))
        classes, cls.envoy_pool = message_classes(cls.envoy_fds, [
            "envoy.service.auth.v3.CheckRequest", "envoy.service.auth.v3.CheckResponse"])
        cls.CheckRequest = classes["envoy.service.auth.v3.CheckRequest"]
        cls.CheckResponse = classes["envoy.service.auth.v3.CheckResponse"]
        cls.token_pb, cls.admin_pb = load_protos(ARGS.source, tmp)
        shared = {"TESSERA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
                  "TESSERA_PEPPER": secrets.token_hex(32)}
        cls.a = Server(ARGS.binary, cls.pg, cls.pg.tmp, shared, name="replica-a")
        cls.b = Server(ARGS.binary, cls.pg, cls.pg.tmp, shared, name="replica-b")
        cls.boot = json.loads(cls.a.run("bootstrap", "--org", "shop", "--admin", "admin").stdout)
        cls.a.start()
        cls.b.start()
        cls.channels = {s: grpc.insecure_channel(s.grpc_target) for s in (cls.a, cls.b)}
        cls.buf = os.path.join(ARGS.source, "tools/node_modules/.bin/buf")
        cls.admin = cls.login("admin", cls.boot["password"]).access_token

    @classmethod
    def tearDownClass(cls):
        for server in (cls.a, cls.b):
            server.kill()
        cls.pg.destroy()

    # ---- tessera's own API, for setting the scene ----

    @classmethod
    def call(cls, method, request, response_type, token=None, server=None):
        stub = cls.channels[server or cls.a].unary_unary(
            method, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString)
        metadata = [("authorization", f"Bearer {token}")] if token else None
        return stub(request, metadata=metadata, timeout=10)

    @classmethod
    def login(cls, username, password):
        t = cls.token_pb
        req = t.IssueTokenRequest(password=t.PasswordGrant(org_slug="shop", username=username,
                                                           password=password))
        return cls.call("/tessera.v1.TokenService/IssueToken", req, t.IssueTokenResponse)

    def user(self, name, scopes):
        """A user holding a role of `scopes`; returns (account id, access token)."""
        a = self.admin_pb
        self.call("/tessera.v1.AdminService/CreateRole",
                  a.CreateRoleRequest(name=f"{name}-role", scopes=scopes), a.CreateRoleResponse,
                  self.admin)
        created = self.call("/tessera.v1.AdminService/CreateAccount", a.CreateAccountRequest(
            kind="ACCOUNT_KIND_USER", username=name, password=f"{name}-password-1",
            roles=[f"{name}-role"]), a.CreateAccountResponse, self.admin)
        return created.account.id, self.login(name, f"{name}-password-1").access_token

    # ---- Envoy's API ----

    def envoy_request(self, headers, extensions=None):
        """GET https://shop.test/orders/42 as Envoy's ext_authz filter describes it."""
        r = self.CheckRequest()
        src = r.attributes.source
        src.address.socket_address.address = "10.20.30.40"
        src.address.socket_address.port_value = 51234
        src.principal = "spiffe://cluster.local/ns/shop/sa/web"
        r.attributes.destination.address.socket_address.address = "10.0.0.5"
        r.attributes.destination.address.socket_address.port_value = 8080
        http = r.attributes.request.http
        http.id = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        http.method, http.path, http.host, http.scheme = "GET", "/orders/42", "shop.test", "https"
        http.protocol = "HTTP/1.1"
        http.headers.update({":authority": "shop.test", ":method": "GET", ":path": "/orders/42",
                             ":scheme": "https", "user-agent": "curl/7.88.1", "accept": "*/*",
                             "x-forwarded-proto": "https", "x-request-id": http.id})
        http.headers.update(headers)
        r.attributes.context_extensions.update(extensions or {})
        return r

    def check(self, request, server=None, proxy=None):
        stub = self.channels[server or self.a].unary_unary(
            CHECK, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.CheckResponse.FromString)
        return stub(request, metadata=[("authorization", f"Bearer {proxy or self.admin}")],
                    timeout=10)

    def http_status(self, response):
        """What Envoy answers the client: 200 when it forwards the request, else the denied one."""
        if response.status.code == 0 and response.HasField("ok_response"):
            return 200
        return response.denied_response.status.code

    @staticmethod
    def headers(options):
        return {o.header.key: o.header.value for o in options}

    # ---- the tests ----

    def test_01_the_subset_keeps_envoys_names_and_field_numbers(self):
        envoy = {f.name: f for f in self.envoy_fds.file}
        compared = 0
        for ours in self.ours_fds.file:
            if ours.name.startswith("google/protobuf/"):
                continue
            self.assertIn(ours.name, envoy, "a file Envoy does not publish")
            theirs = envoy[ours.name]
            self.assertEqual(ours.package, theirs.package, ours.name)

            def compare_messages(mine, published, scope):
                nonlocal compared
                by_name = {m.name: m for m in published}
                for m in mine:
                    full = f"{scope}.{m.name}"
                    self.assertIn(m.name, by_name, f"{full} is not Envoy's")
                    fields = {f.name: f for f in by_name[m.name].field}
                    for f in m.field:
                        self.assertIn(f.name, fields, f"{full}.{f.name} is not Envoy's")
                        g = fields[f.name]
                        for attr in ("number", "type", "label", "type_name"):
                            self.assertEqual(getattr(f, attr), getattr(g, attr),
                                             f"{full}.{f.name}: {attr}")
                        compared += 1
                    compare_enums(m.enum_type, by_name[m.name].enum_type, full)
                    compare_messages(m.nested_type, by_name[m.name].nested_type, full)

            def compare_enums(mine, published, scope):
                nonlocal compared
                by_name = {e.name: e for e in published}
                for e in mine:
                    values = {v.name: v.number for v in by_name[e.name].value}
                    for v in e.value:
                        self.assertEqual(values.get(v.name), v.number, f"{scope}.{e.name}.{v.name}")
                        compared += 1

            compare_messages(ours.message_type, theirs.message_type, ours.package)
            compare_enums(ours.enum_type, theirs.enum_type, ours.package)
            services = {s.name: s for s in theirs.service}
            for s in ours.service:
                methods = {m.name: m for m in services[s.name].method}
                for m in s.method:
                    self.assertEqual((m.input_type, m.output_type),
                                     (methods[m.name].input_type, methods[m.name].output_type))
        print(f"\n  {compared} fields and enum values match Envoy's published API", file=sys.stderr)
        self.assertGreater(compared, 60)

    def test_02_reflection_describes_check(self):
        out = subprocess.run([self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                              "--list-methods", f"http://{self.a.grpc_target}"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("envoy.service.auth.v3.Authorization/Check", out.stdout.split())

    def test_03_an_envoy_shaped_request_passes_with_its_caller_and_without_its_credential(self):
        account, token = self.user("ann", ["orders:read"])
        r = self.check(self.envoy_request(
            {"authorization": f"Bearer {token}", "x-tessera-subject": "forged",
             "x-tessera-tenant": "forged"}, {"tessera.required_scopes": "orders:read"}))
        self.assertEqual(self.http_status(r), 200, r)
        set_headers = self.headers(r.ok_response.headers)
        self.assertEqual(set_headers["x-tessera-subject"], account)
        self.assertEqual(set_headers["x-tessera-org-id"], self.boot["org_id"])
        self.assertEqual(set_headers["x-tessera-scopes"], "orders:read")
        self.assertEqual(set_headers["x-tessera-client-id"], account)
        self.assertTrue(all(o.HasField("append") and not o.append.value
                            for o in r.ok_response.headers), "a header would be appended")
        self.assertEqual(sorted(r.ok_response.headers_to_remove),
                         ["authorization", "x-api-secret", "x-tessera-tenant"])
        self.assertEqual(r.dynamic_metadata["subject"], account)
        self.assertEqual(list(r.dynamic_metadata["scopes"]), ["orders:read"])

    def test_04_denials_are_401_403_and_429(self):
        _, token = self.user("ben", ["orders:read"])
        r = self.check(self.envoy_request({}))
        self.assertEqual(self.http_status(r), 401)
        self.assertEqual(r.status.code, grpc.StatusCode.UNAUTHENTICATED.value[0])
        self.assertEqual(self.headers(r.denied_response.headers)["www-authenticate"], "Bearer")
        r = self.check(self.envoy_request({"authorization": "Bearer garbage"}))
        self.assertEqual(self.http_status(r), 401)
        self.assertEqual(self.headers(r.denied_response.headers)["www-authenticate"],
                         'Bearer error="invalid_token"')
        r = self.check(self.envoy_request({"authorization": f"Bearer {token}"},
                                          {"tessera.required_scopes": "orders:write"}))
        self.assertEqual(self.http_status(r), 403)
        self.assertEqual(self.headers(r.denied_response.headers)["www-authenticate"],
                         'Bearer error="insufficient_scope", scope="orders:write"')
        # A service token guessed at through the proxy: 5 wrong secrets lock it.
        a = self.admin_pb
        key = self.call("/tessera.v1.AdminService/CreateApiKey", a.CreateApiKeyRequest(
            name="guessed", kind="API_KEY_KIND_SERVICE_TOKEN", scopes=["orders:read"]),
            a.CreateApiKeyResponse, self.admin)
        wrong = {"authorization": f"Bearer {key.key}", "x-api-secret": "0" * 64}
        for _ in range(5):
            self.assertEqual(self.http_status(self.check(self.envoy_request(wrong))), 401)
        r = self.check(self.envoy_request({"authorization": f"Bearer {key.key}",
                                           "x-api-secret": key.secret}))
        self.assertEqual(self.http_status(r), 429)
        self.assertGreaterEqual(int(self.headers(r.denied_response.headers)["retry-after"]), 1)

    def test_05_buf_curl_with_envoys_schema(self):
        _, token = self.user("cid", ["orders:read"])
        body = {"attributes": {"request": {"http": {
            "method": "GET", "path": "/orders/1",
            "headers": {":path": "/orders/1", "authorization": f"Bearer {token}"}}},
            "contextExtensions": {"tessera.required_scopes": "orders:read"}}}
        out = subprocess.run(
            [self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
             "--schema", self.envoy_fds_path, "-H", f"authorization: Bearer {self.admin}",
             "-d", json.dumps(body), f"http://{self.a.grpc_target}{CHECK}"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        answer = json.loads(out.stdout)
        self.assertEqual(answer["status"], {})  # code 0, as proto3 JSON leaves it out
        self.assertIn({"header": {"key": "x-tessera-scopes", "value": "orders:read"},
                       "append": False}, answer["okResponse"]["headers"])

    def propagation(self, make_denied):
        """Seconds until replica B denies what `make_denied` (run on replica A) denied there."""
        request = make_denied()
        start = time.monotonic()
        while self.http_status(self.check(request, server=self.b)) == 200:
            if time.monotonic() - start > 10:
                self.fail("replica B never denied it")
        return time.monotonic() - start

    def test_06_revocations_and_role_changes_reach_both_replicas(self):
        a = self.admin_pb
        t = self.token_pb
        took = {"revoked token": [], "unassigned role": []}
        for i in range(TRIALS):
            account, token = self.user(f"dee{i}", ["orders:read"])
            request = self.envoy_request({"authorization": f"Bearer {token}"},
                                         {"tessera.required_scopes": "orders:read"})
            deadline = time.monotonic() + 10  # B learns of the new account through its feed
            while self.http_status(self.check(request, server=self.b)) != 200:
                self.assertLess(time.monotonic(), deadline, "replica B never let dee in")

            def unassign():
                self.call("/tessera.v1.AdminService/UnassignRole", a.UnassignRoleRequest(
                    account_id=account, role=f"dee{i}-role"), a.UnassignRoleResponse, self.admin)
                self.assertEqual(self.http_status(self.check(request)), 403)  # A: the next one
                return request

            took["unassigned role"].append(self.propagation(unassign))
            other = self.login(f"dee{i}", f"dee{i}-password-1").access_token
            revoked = self.envoy_request({"authorization": f"Bearer {other}"})
            self.assertEqual(self.http_status(self.check(revoked, server=self.b)), 200)

            def revoke():
                self.call("/tessera.v1.TokenService/Revoke", t.RevokeRequest(token=other),
                          t.RevokeResponse, self.admin)
                self.assertEqual(self.http_status(self.check(revoked)), 401)
                return revoked

            took["revoked token"].append(self.propagation(revoke))
        for what, times in took.items():
            median = statistics.median(times)
            print(f"\n  {what}: denied on replica B after "
                  f"{', '.join(f'{x * 1000:.1f}' for x in times)} ms (median {median * 1000:.1f})",
                  file=sys.stderr)
            self.assertLessEqual(median, PROPAGATION_BOUND, what)

    def test_07_every_check_is_counted(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.a.http_port}/metrics",
                                    timeout=5) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                values[series] = float(value)
        # prometheus-cpp writes labels in name order.
        self.assertGreater(values['grpc_server_handled_total{grpc_code="OK",grpc_method="Check",'
                                  'grpc_service="envoy.service.auth.v3.Authorization"}'], 0)
        for decision in ("allowed", "unauthenticated", "forbidden", "locked_out"):
            self.assertGreater(
                values[f'tessera_ext_authz_checks_total{{decision="{decision}"}}'], 0, decision)

    def test_08_a_database_outage_denies_no_valid_token(self):
        _, token = self.user("eve", ["orders:read"])
        _, gone = self.user("fay", ["orders:read"])
        t = self.token_pb
        self.call("/tessera.v1.TokenService/Revoke", t.RevokeRequest(token=gone), t.RevokeResponse,
                  self.admin)
        valid = self.envoy_request({"authorization": f"Bearer {token}"},
                                   {"tessera.required_scopes": "orders:read"})
        revoked = self.envoy_request({"authorization": f"Bearer {gone}"})
        deadline = time.monotonic() + 10  # B learns of the revocation before the outage
        while self.http_status(self.check(revoked, server=self.b)) != 401:
            self.assertLess(time.monotonic(), deadline, "replica B never heard of the revocation")
        self.pg.stop("immediate")
        try:
            for server in (self.a, self.b):
                for _ in range(20):
                    self.assertEqual(self.http_status(self.check(valid, server=server)), 200)
                    self.assertEqual(self.http_status(self.check(revoked, server=server)), 401)
        finally:
            self.pg.start()
        # Writes work again once each replica's pool has dropped its broken connections.
        deadline = time.monotonic() + 30
        for server in (self.a, self.b):
            while True:
                try:
                    self.call("/tessera.v1.AdminService/CreateRole", self.admin_pb.CreateRoleRequest(
                        name=f"after-{secrets.token_hex(4)}", scopes=["x:y"]),
                        self.admin_pb.CreateRoleResponse, self.admin, server=server)
                    break
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
                    self.assertLess(time.monotonic(), deadline, "writes never came back")
                    time.sleep(0.2)

    def metric(self, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.a.http_port}/metrics",
                                    timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return None

    def test_09_a_stuck_database_holds_only_the_checks_that_must_write(self):
        """Every PostgreSQL process stopped (SIGSTOP): a wrong service-token secret waits for its
        count on the writers' queue, never on the reactor; every other Check answers from
        memory; and once the queue is full, further wrong secrets are refused at once (503)."""
        a = self.admin_pb
        key = self.call("/tessera.v1.AdminService/CreateApiKey", a.CreateApiKeyRequest(
            name="stuck", kind="API_KEY_KIND_SERVICE_TOKEN", scopes=["orders:read"]),
            a.CreateApiKeyResponse, self.admin)
        _, token = self.user("gil", ["orders:read"])
        valid = self.envoy_request({"authorization": f"Bearer {token}"})
        self.assertEqual(self.http_status(self.check(valid)), 200)  # verified and cached now
        with open(os.path.join(self.pg.dir, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True).stdout.split()
        processes = [postmaster, *map(int, children)]
        stub = self.channels[self.a].unary_unary(
            CHECK, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.CheckResponse.FromString)
        metadata = [("authorization", f"Bearer {self.admin}")]

        def wrong(i):  # each from an address of its own: no address reaches its lockout
            r = self.envoy_request({"authorization": f"Bearer {key.key}",
                                    "x-api-secret": "1" * 64})
            r.attributes.source.address.socket_address.address = f"10.9.{i // 250}.{i % 250 + 1}"
            return r

        writers, queue = 4, 1024  # server/app.cc: the pool Check's writes wait in
        for pid in processes:
            os.kill(pid, signal.SIGSTOP)
        try:
            # Far more stuck writes than the reactor has threads, on any machine.
            stuck = [stub.future(wrong(i), metadata=metadata, timeout=120)
                     for i in range(writers + queue)]
            deadline = time.monotonic() + 60
            while self.metric("tessera_ext_authz_write_queue_depth") != queue:
                self.assertLess(time.monotonic(), deadline, "the writers' queue never filled")
                time.sleep(0.1)
            slowest = 0
            for _ in range(100):
                start = time.monotonic()
                self.assertEqual(self.http_status(stub(valid, metadata=metadata, timeout=5)), 200)
                slowest = max(slowest, time.monotonic() - start)
            for i in range(5):  # the queue is full: refused at once, without waiting
                r = stub(wrong(writers + queue + i), metadata=metadata, timeout=5)
                self.assertEqual(self.http_status(r), 503)
                self.assertEqual(r.status.code, grpc.StatusCode.UNAVAILABLE.value[0])
            print(f"\n  100 Checks beside {writers + queue} stuck writes: slowest "
                  f"{slowest * 1000:.1f} ms; 5 more wrong secrets refused at once", file=sys.stderr)
            self.assertGreaterEqual(self.metric("tessera_ext_authz_writes_refused_total"), 5)
            self.assertTrue(all(not f.done() for f in stuck), "a count was written to a stopped "
                            "database, or a wrong secret was answered before its count")
        finally:
            for pid in processes:
                os.kill(pid, signal.SIGCONT)
        for f in stuck:  # once the database wakes, each is counted and answered
            self.assertEqual(self.http_status(f.result()), 401)

if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], *rest])
