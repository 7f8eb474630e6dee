#!/usr/bin/python3
"""Nothing acknowledged is lost to a crash, with group commit: `tessera serve` on a PostgreSQL
with fsync and synchronous_commit on, a refresh and revoke load from a real gRPC client
(Debian's grpcio), and PostgreSQL stopped in immediate mode (every process killed, no
shutdown checkpoint) while batches are in flight. After the restart:

- every acknowledged rotation and revocation is there, each with its audit row;
- every rotation left unacknowledged by the crash can be retried, and the retry reaches the one
  child that exists (a rotation that committed but was never answered is replayed, one that
  did not commit is made now): no family has a child nobody can get to.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/durability_test.py --binary build/server/tessera --source .
"""
import base64
import json
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

from harness import Postgres, Server, grpc_health, load_protos, parse_args, wait_until

ARGS = None
CHAINS = 8  # refresh families, each rotated by a thread of its own
REVOKERS = 4
LOAD_BEFORE_CRASH = 4.0  # seconds of load before PostgreSQL is killed
RECOVERY_BOUND = 30.0


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Durability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(ARGS.source, fsync=True)
        cls.t, _ = load_protos(ARGS.source, tempfile.mkdtemp(dir=cls.pg.tmp))
        # A grace window longer than the restart, so a retry of an answered-or-not rotation is
        # judged as a retry.
        cls.server = Server(ARGS.binary, cls.pg, cls.pg.tmp, {"TESSERA_REFRESH_GRACE": "300"})
        cls.boot = json.loads(cls.server.run("bootstrap", "--org", "acme", "--admin",
                                             "admin").stdout)
        cls.server.start()
        cls.channel = grpc.insecure_channel(cls.server.grpc_target)

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.pg.destroy()

    def call(self, method, request, response_type, request_id, token=None, timeout=10):
        stub = self.channel.unary_unary(f"/tessera.v1.TokenService/{method}",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response_type.FromString)
        metadata = [("x-request-id", request_id)]
        if token:
            metadata.append(("authorization", f"Bearer {token}"))
        return stub(request, metadata=metadata, timeout=timeout)

    def refresh(self, token, request_id):
        return self.call("Refresh", self.t.RefreshRequest(refresh_token=token),
                         self.t.RefreshResponse, request_id)

    def sql(self, query):
        out = subprocess.run(["psql", self.pg.url, "-At", "-c", query], capture_output=True,
                             text=True, check=True, timeout=60)
        return out.stdout.split()

    def test_acknowledged_writes_survive_an_immediate_stop(self):
        self.assertEqual(self.sql("SHOW fsync") + self.sql("SHOW synchronous_commit"),
                         ["on", "on"])
        t = self.t
        login = t.IssueTokenRequest(password=t.PasswordGrant(
            org_slug="acme", username="admin", password=self.boot["password"]))
        firsts = [self.call("IssueToken", login, t.IssueTokenResponse, f"login-{i}")
                  for i in range(CHAINS)]

        lock = threading.Lock()
        stop = threading.Event()
        # chain -> [(request_id, parent, child, family)]; chain -> (request_id, parent) or None
        acked = {i: [] for i in range(CHAINS)}
        unacked = {}
        to_revoke = []  # access tokens minted by acknowledged rotations
        revoked, revoke_unacked = [], []  # (request_id, jti)

        def rotate(chain, token):
            n = 0
            while not stop.is_set():
                rid = f"refresh-{chain}-{n}"
                try:
                    r = self.refresh(token, rid)
                except grpc.RpcError as e:
                    with lock:
                        unacked[chain] = (rid, token, e.code())
                    return
                family = jwt_claims(r.access_token)["sid"]
                with lock:
                    acked[chain].append((rid, token, r.refresh_token, family))
                    to_revoke.append(r.access_token)
                token, n = r.refresh_token, n + 1

        def revoke(worker):
            n = 0
            while not stop.is_set():
                with lock:
                    token = to_revoke.pop() if to_revoke else None
                if token is None:
                    time.sleep(0.001)
                    continue
                rid, jti = f"revoke-{worker}-{n}", jwt_claims(token)["jti"]
                try:
                    # A token may revoke itself.
                    self.call("Revoke", t.RevokeRequest(token=token), t.RevokeResponse, rid,
                              token=token)
                except grpc.RpcError:
                    with lock:
                        revoke_unacked.append((rid, jti))
                    return
                with lock:
                    revoked.append((rid, jti))
                n += 1

        threads = [threading.Thread(target=rotate, args=(i, f.refresh_token))
                   for i, f in enumerate(firsts)]
        threads += [threading.Thread(target=revoke, args=(i,)) for i in range(REVOKERS)]
        for th in threads:
            th.start()
        time.sleep(LOAD_BEFORE_CRASH)
        with lock:
            before = (sum(len(a) for a in acked.values()), len(revoked))
        self.pg.stop("immediate")
        try:
            deadline = time.monotonic() + 30
            while any(th.is_alive() for th in threads[:CHAINS]) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            for th in threads:
                th.join(timeout=30)
        finally:
            self.pg.start()
        rotations = sum(len(a) for a in acked.values())
        print(f"\n  before the kill: {before[0]} rotations, {before[1]} revocations answered;"
              f" in all {rotations} and {len(revoked)}; {len(unacked)} rotations and"
              f" {len(revoke_unacked)} revocations unanswered", file=sys.stderr)
        self.assertGreater(before[0], 50, "too little load to prove anything")
        self.assertGreater(before[1], 20, "too little load to prove anything")
        self.assertEqual(len(unacked), CHAINS, "a chain did not stop at the crash")
        self.assertTrue(all(code == grpc.StatusCode.UNAVAILABLE
                            for _, _, code in unacked.values()), unacked)

        took = wait_until(lambda: self.health() == "SERVING", RECOVERY_BOUND)
        self.assertIsNotNone(took, "tessera did not recover after PostgreSQL restarted")

        # Every acknowledged write, and its audit row, is there.
        audited = set(self.sql("SELECT request_id FROM audit_events"
                               " WHERE action IN ('token.refreshed', 'token.revoked')"))
        missing = [rid for chain in acked.values() for rid, *_ in chain if rid not in audited]
        self.assertEqual(missing, [], "acknowledged rotations lost their audit rows")
        missing = [rid for rid, _ in revoked if rid not in audited]
        self.assertEqual(missing, [], "acknowledged revocations lost their audit rows")
        jtis = set(self.sql("SELECT jti FROM revoked_access_tokens"))
        self.assertEqual([jti for _, jti in revoked if jti not in jtis], [],
                         "acknowledged revocations were lost")

        # Every chain goes on from where its answers left it: the unanswered rotation, retried,
        # gives the one child of its parent, whether it had committed or not.
        committed_unanswered = 0
        for chain, (rid, parent, _) in unacked.items():
            known = acked[chain][-1][3] if acked[chain] else None
            before = (int(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE family_id ="
                                   f" '{known}'")[0]) if known else None)
            retry = self.refresh(parent, f"{rid}-retry")
            family = jwt_claims(retry.access_token)["sid"]
            if acked[chain]:
                self.assertEqual(family, acked[chain][-1][3])
            tokens = int(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE family_id ="
                                  f" '{family}'")[0])
            # The login's token, one child per answered rotation, and the retried one's.
            self.assertEqual(tokens, 1 + len(acked[chain]) + 1,
                             f"chain {chain}: a child no retry reaches")
            # Committed before the crash but never answered: the retry replayed its child.
            committed_unanswered += before == tokens
            # And the retried child is a live session.
            self.refresh(retry.refresh_token, f"{rid}-after")
        print(f"  {committed_unanswered} of the unanswered rotations had committed; their"
              " retries got the child the crash hid", file=sys.stderr)

    def health(self):
        return grpc_health(self.channel)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
