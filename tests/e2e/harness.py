"""Shared pieces of the e2e tests: an embedded PostgreSQL cluster (scripts/pg, on a Unix socket)
and `tessera serve` processes on loopback ports the kernel picks, each logging to a file."""
import argparse
import importlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def parse_args():
    """--binary (the built tessera) and --source (the checkout); the rest goes to unittest."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source", required=True)
    args, rest = parser.parse_known_args()
    args.binary = os.path.abspath(args.binary)
    args.source = os.path.abspath(args.source)
    return args, rest


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)


def make_leaf(d, ca, name, out_dir=None, server=True):
    """A certificate for `name` signed by `ca`; a server one is valid for 127.0.0.1."""
    out = out_dir or d
    ext = os.path.join(out, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server
                else "extendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", os.path.join(out, "tls.key" if server else f"{name}.key"),
            "-out", os.path.join(out, f"{name}.csr"), "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", os.path.join(out, f"{name}.csr"), "-CA", f"{ca}.crt",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2", "-extfile", ext,
            "-out", os.path.join(out, "tls.crt" if server else f"{name}.crt"), cwd=d)


def load_protos(source, out_dir):
    """Generates the Python message classes with Debian's protoc and imports them."""
    protos = ["tessera/v1/common.proto", "tessera/v1/token.proto", "tessera/v1/admin.proto"]
    subprocess.run(["protoc", "-I", os.path.join(source, "proto"), f"--python_out={out_dir}",
                    *protos], check=True)
    sys.path.insert(0, out_dir)
    return (importlib.import_module("tessera.v1.token_pb2"),
            importlib.import_module("tessera.v1.admin_pb2"))


def grpc_health(channel):
    """grpc.health.v1 Check on `channel`: SERVING, NOT_SERVING, UNKNOWN, or the error's code.
    By hand: its generated module would shadow the `grpc` package. The request is empty; the
    response is field 1, a varint enum."""
    import grpc
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda _: b"",
                                response_deserializer=lambda b: b)
    try:
        raw = check(None, timeout=2)
    except grpc.RpcError as e:
        return e.code().name
    status = raw[1] if len(raw) == 2 and raw[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING"}.get(status, "UNKNOWN")


def wait_until(predicate, bound):
    """Polls `predicate`; returns the seconds it took to hold, or None past `bound`."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > bound:
            return None
        time.sleep(0.001)


class Postgres:
    """A cluster of its own under a temporary directory, reached through its Unix socket (the
    same URL across restarts, and no TCP port to collide with). fsync is off unless a test is
    about durability."""

    def __init__(self, source, fsync=False):
        self.source = source
        self.fsync = "on" if fsync else "off"
        self.tmp = tempfile.mkdtemp(prefix="tessera-e2e-")
        os.chmod(self.tmp, 0o755)  # as root, the cluster's owner must be able to enter it
        self.dir = os.path.join(self.tmp, "pg")
        self.url = self.start()

    def _run(self, *args):
        out = subprocess.run([os.path.join(self.source, "scripts/pg"), *args],
                             check=True, capture_output=True, text=True,
                             env=dict(os.environ, PG_FSYNC=self.fsync))
        return out.stdout.strip()

    def start(self):
        return self._run("start", self.dir)

    def stop(self, mode="fast"):
        self._run("stop", self.dir, mode)

    def destroy(self):
        self._run("destroy", self.dir)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Server:
    """One `tessera` binary configured through the environment, as operators run it."""

    def __init__(self, binary, pg, log_dir, env=None, name="server"):
        self.binary = binary
        self.name = name
        # Known once started: the kernel picks them (oauth_port is 0 when it is not served).
        self.grpc_port = self.http_port = self.oauth_port = None
        self.env = dict(os.environ,
                        TESSERA_DATABASE_URL=pg.url,
                        TESSERA_KEY_ENCRYPTION_KEY=secrets.token_hex(32),
                        TESSERA_PEPPER=secrets.token_hex(32),
                        TESSERA_GRPC_LISTEN="127.0.0.1:0",
                        TESSERA_HTTP_LISTEN="127.0.0.1:0",
                        TESSERA_OAUTH_LISTEN="127.0.0.1:0",
                        TESSERA_HEALTH_INTERVAL="1")
        self.env.update(env or {})
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.process = None
        self.log = None

    @property
    def grpc_target(self):
        return f"127.0.0.1:{self.grpc_port}"

    def run(self, *args, check=True):
        """Runs a one-shot subcommand (bootstrap, migrate) with this server's settings."""
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True,
                              check=check, timeout=120)

    def start(self, timeout=30):
        """Starts `tessera serve` and returns once it serves, with grpc_port and http_port set from
        its `serving` log line (info, the default log level)."""
        self.log = open(self.log_path, "a")
        offset = self.log.tell()
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline and self.process.poll() is None:
            serving = self._serving_line(offset)
            if serving:
                self.grpc_port, self.http_port = int(serving["grpc_port"]), int(serving["http_port"])
                self.oauth_port = int(serving.get("oauth_port", 0))
                urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=5)
                return
            time.sleep(0.05)
        raise RuntimeError(f"tessera did not start:\n{self.read_log()}")

    def _serving_line(self, offset):
        with open(self.log_path) as f:
            f.seek(offset)
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("event") == "serving":
                    return entry
        return None

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.log:
            self.log.close()
            self.log = None
