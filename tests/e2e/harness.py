"""Shared pieces of the e2e tests: an embedded PostgreSQL cluster (scripts/pg, on a Unix socket)
and `tessera serve` processes on loopback ports the kernel picks, each logging to a file."""
import argparse
import json
import os
import secrets
import shutil
import subprocess
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


class Postgres:
    """A cluster of its own under a temporary directory, reached through its Unix socket (the
    same URL across restarts, and no TCP port to collide with)."""

    def __init__(self, source):
        self.source = source
        self.tmp = tempfile.mkdtemp(prefix="tessera-e2e-")
        os.chmod(self.tmp, 0o755)  # as root, the cluster's owner must be able to enter it
        self.dir = os.path.join(self.tmp, "pg")
        self.url = self.start()

    def _run(self, *args):
        out = subprocess.run([os.path.join(self.source, "scripts/pg"), *args],
                             check=True, capture_output=True, text=True,
                             env=dict(os.environ, PG_FSYNC="off"))
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
        self.grpc_port = self.http_port = None  # known once started: the kernel picks them
        self.env = dict(os.environ,
                        TESSERA_DATABASE_URL=pg.url,
                        TESSERA_KEY_ENCRYPTION_KEY=secrets.token_hex(32),
                        TESSERA_PEPPER=secrets.token_hex(32),
                        TESSERA_GRPC_LISTEN="127.0.0.1:0",
                        TESSERA_HTTP_LISTEN="127.0.0.1:0",
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
