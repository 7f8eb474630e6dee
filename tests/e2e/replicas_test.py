#!/usr/bin/python3
"""Two `tessera serve` processes on one PostgreSQL, driven by a real gRPC client (Debian's
grpcio): once replica B's change feed has applied a revocation or a role change made through
replica A, B answers accordingly (the order of events is checked, not a wall-clock bound, which
sanitizers and loaded machines make meaningless; `tessera_bench --only=propagation` bounds the
time); with PostgreSQL killed, both keep answering Introspect from their snapshots while
reporting NOT_SERVING; after PostgreSQL restarts, both recover and changes propagate again.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/replicas_test.py --binary build/server/tessera --source .
"""
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc

from harness import Postgres, Server, grpc_health, load_protos, parse_args, wait_until

ARGS = None
# Only a safety net against a feed that never delivers; the figure is printed and bounded in the
# benchmark.
ARRIVAL_TIMEOUT = 30.0
# Recovery after a PostgreSQL restart: the feed's reconnect backoff (at most 2 s) plus a health
# interval (1 s here), with slack for a loaded CI machine.
RECOVERY_BOUND = 20.0


class Client:
    """Plain unary calls to one replica, the bearer token in `authorization` metadata."""

    def __init__(self, target, pb):
        self.channel = grpc.insecure_channel(target)
        self.token_pb, self.admin_pb = pb

    def call(self, method, request, response_type, token=None, timeout=5):
        stub = self.channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response_type.FromString)
        metadata = [("authorization", f"Bearer {token}")] if token else None
        return stub(request, metadata=metadata, timeout=timeout)

    def login(self, org, username, password):
        t = self.token_pb
        req = t.IssueTokenRequest(password=t.PasswordGrant(org_slug=org, username=username,
                                                           password=password))
        return self.call("/tessera.v1.TokenService/IssueToken", req, t.IssueTokenResponse)

    def introspect(self, caller, token):
        t = self.token_pb
        return self.call("/tessera.v1.TokenService/Introspect", t.IntrospectRequest(token=token),
                         t.IntrospectResponse, caller)

    def revoke(self, caller, token):
        t = self.token_pb
        return self.call("/tessera.v1.TokenService/Revoke", t.RevokeRequest(token=token),
                         t.RevokeResponse, caller)

    def admin(self, method, request, response_type, caller):
        return self.call(f"/tessera.v1.AdminService/{method}", request, response_type, caller)

    def health(self):
        return grpc_health(self.channel)


class TwoReplicas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source)
        pb = load_protos(ARGS.source, tempfile.mkdtemp(dir=cls.pg.tmp))
        shared = {"TESSERA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
                  "TESSERA_PEPPER": secrets.token_hex(32)}
        cls.a = Server(ARGS.binary, cls.pg, cls.pg.tmp, shared, name="replica-a")
        cls.b = Server(ARGS.binary, cls.pg, cls.pg.tmp, shared, name="replica-b")
        cls.boot = json.loads(cls.a.run("bootstrap", "--org", "acme", "--admin", "admin").stdout)
        cls.a.start()
        cls.b.start()
        cls.ca, cls.cb = Client(cls.a.grpc_target, pb), Client(cls.b.grpc_target, pb)
        cls.token_pb, cls.admin_pb = pb

    @classmethod
    def tearDownClass(cls):
        for server in (cls.a, cls.b):
            server.kill()
        cls.pg.destroy()

    def admin_token(self, client=None):
        return (client or self.ca).login("acme", "admin", self.boot["password"]).access_token

    def active_on(self, client, token):
        return client.introspect(self.admin_token_cached, token).active

    @staticmethod
    def applied(server):
        """How many changes `server`'s change feed has applied (its lag histogram's count)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/metrics",
                                    timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("tessera_change_feed_lag_seconds_count "):
                    return int(float(line.split()[1]))
        return 0

    def settle(self):
        """Waits until neither replica's feed applies anything more, and takes that as the count
        each must reach: assert_propagates adds what each write sends."""
        counts = None
        while True:
            now = {s.name: self.applied(s) for s in (self.a, self.b)}
            if now == counts:
                break
            counts = now
            time.sleep(0.2)
        self.expected = counts

    def assert_propagates(self, what, write, predicate, to=None, changes=1):
        """Runs `write` on one replica, waits until the other (`to`, B by default) has applied
        the `changes` change(s) it sends (counted from settle(), so an earlier change arriving
        late cannot stand in for this one), and then requires `predicate` at once."""
        to = to or self.b
        writer = self.a if to is self.b else self.b
        # The change reaches the other replica, and echoes through the writer's own feed too.
        self.expected[to.name] += changes
        self.expected[writer.name] += changes
        write()
        took = wait_until(lambda: self.applied(to) >= self.expected[to.name], ARRIVAL_TIMEOUT)
        self.assertIsNotNone(took, f"{what}: the other replica's feed never applied it")
        self.assertTrue(predicate(), f"{what}: applied by the other replica's feed, but it "
                                     "still answers as before")
        print(f"\n  {what}: applied on the other replica after {took * 1000:.1f} ms",
              file=sys.stderr)


    def test_01_revocation_and_role_change_reach_the_other_replica(self):
        admin = self.admin_token()
        TwoReplicas.admin_token_cached = admin
        self.settle()
        a = self.admin_pb
        self.ca.admin("CreateRole", a.CreateRoleRequest(name="ops", scopes=["ops:read", "ops:write"]),
                      a.CreateRoleResponse, admin)
        created = {}

        def create_olga():
            created["id"] = self.ca.admin("CreateAccount", a.CreateAccountRequest(
                kind="ACCOUNT_KIND_USER", username="olga", password="olga-password-1",
                roles=["ops"]), a.CreateAccountResponse, admin).account.id

        # A's login of olga works only once the account exists; B knows olga once its feed has
        # applied the creation.
        self.assert_propagates("new account", create_olga, lambda: True)
        doomed = self.ca.login("acme", "olga", "olga-password-1").access_token
        kept = self.ca.login("acme", "olga", "olga-password-1").access_token
        self.assertTrue(self.active_on(self.cb, kept))
        self.assertTrue(self.active_on(self.cb, doomed))

        self.assert_propagates("revocation A->B", lambda: self.ca.revoke(admin, doomed),
                               lambda: not self.active_on(self.cb, doomed))
        self.assertTrue(self.active_on(self.cb, kept))

        self.assertEqual(sorted(self.cb.introspect(admin, kept).scopes), ["ops:read", "ops:write"])
        self.assert_propagates(
            "role unassigned A->B",
            lambda: self.ca.admin("UnassignRole", a.UnassignRoleRequest(
                account_id=created["id"], role="ops"), a.UnassignRoleResponse, admin),
            lambda: not self.cb.introspect(admin, kept).scopes)
        self.assertTrue(self.active_on(self.cb, kept))

        # And the other way round.
        other = self.cb.login("acme", "admin", self.boot["password"]).access_token
        self.assert_propagates("revocation B->A", lambda: self.cb.revoke(admin, other),
                               lambda: not self.active_on(self.ca, other), to=self.a)

    def test_01a_parallel_guesses_on_both_replicas_share_one_lockout(self):
        admin = self.admin_token()
        a = self.admin_pb
        self.ca.admin("CreateAccount", a.CreateAccountRequest(
            kind="ACCOUNT_KIND_USER", username="pat", password="pat-password-1"),
            a.CreateAccountResponse, admin)
        threshold, guesses = 5, 32

        def guess(i):
            client = (self.ca, self.cb)[i % 2]
            try:
                client.login("acme", "pat", f"wrong-{i}")
                return "OK", None
            except grpc.RpcError as e:
                retry = dict(e.trailing_metadata() or ()).get("retry-after")
                return e.code().name, retry

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(guess, range(guesses)))
        checked = [r for r in results if r[0] == "UNAUTHENTICATED"]
        refused = [r for r in results if r[0] == "RESOURCE_EXHAUSTED"]
        print(f"\n  {guesses} parallel guesses over two replicas: {len(checked)} checked, "
              f"{len(refused)} refused", file=sys.stderr)
        # Each attempt is counted in PostgreSQL before its password is hashed: no slack at all.
        self.assertEqual(len(checked), threshold, results)
        self.assertEqual(len(refused), guesses - threshold, results)
        self.assertTrue(all(r[1] and int(r[1]) > 0 for r in refused), refused)
        for client in (self.ca, self.cb):
            with self.assertRaises(grpc.RpcError) as ctx:
                client.login("acme", "pat", "pat-password-1")
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        events = self.cb.admin("ListAuditEvents", a.ListAuditEventsRequest(action="auth.lockout"),
                               a.ListAuditEventsResponse, admin).events
        self.assertEqual(len(events), 1, events)

    def test_02_introspect_keeps_answering_while_postgresql_is_down(self):
        admin = self.admin_token()
        TwoReplicas.admin_token_cached = admin
        live = self.ca.login("acme", "admin", self.boot["password"]).access_token
        dead = self.ca.login("acme", "admin", self.boot["password"]).access_token
        self.settle()
        self.assert_propagates("revocation before the outage", lambda: self.ca.revoke(admin, dead),
                               lambda: not self.active_on(self.cb, dead))
        for client in (self.ca, self.cb):
            self.assertEqual(client.health(), "SERVING")

        self.pg.stop("immediate")  # every connection dropped at once, as in a crash
        try:
            for client in (self.ca, self.cb):
                took = wait_until(lambda: client.health() == "NOT_SERVING", RECOVERY_BOUND)
                self.assertIsNotNone(took, "health stayed SERVING with PostgreSQL down")
                # Reads are not lost: the snapshot answers, revocations included.
                r = client.introspect(admin, live)
                self.assertTrue(r.active)
                self.assertEqual(list(r.scopes), ["admin"])
                self.assertFalse(client.introspect(admin, dead).active)
            # Writes cannot be: they fail, saying so, instead of pretending.
            with self.assertRaises(grpc.RpcError) as err:
                self.ca.login("acme", "admin", self.boot["password"])
            self.assertEqual(err.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            self.pg.start()

        for client in (self.ca, self.cb):
            took = wait_until(lambda: client.health() == "SERVING", RECOVERY_BOUND)
            self.assertIsNotNone(took, "a replica did not recover after PostgreSQL restarted")
            print(f"\n  SERVING again {took:.1f} s after the restart", file=sys.stderr)

        after = self.ca.login("acme", "admin", self.boot["password"]).access_token
        self.assertTrue(self.active_on(self.cb, after))
        self.settle()
        self.assert_propagates("revocation after the restart", lambda: self.ca.revoke(admin, after),
                               lambda: not self.active_on(self.cb, after))
        self.assertTrue(self.active_on(self.cb, live))
        for server in (self.a, self.b):
            self.assertIn("change_feed_resynced", server.read_log())


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
