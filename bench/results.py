#!/usr/bin/env python3
"""Turns the benchmark's machine-readable rows into pictures and the peer comparison (issue #18).

tessera_bench --results=FILE writes every measured row (report.h, Report::Tsv); the
oidc-provider peer's run.sh writes one line per wrk run to its out/results.tsv. This reads both:

  results.py figures RESULTS.tsv [PEER.tsv] OUTDIR LINKDIR
      draws one PNG per path (req/s and p99 against the calls outstanding, tessera beside its
      bound and, where there are peer figures, beside the peer) into OUTDIR with gnuplot, and
      prints the Markdown section of BENCHMARKS.md that shows them (links relative to LINKDIR,
      the folder of BENCHMARKS.md).
  results.py compare RESULTS.tsv PEER.tsv
      prints the Markdown comparison table of tessera and the peer, with issue #18's targets.

Called by scripts/bench and scripts/bench-peer; only the Python standard library and gnuplot.
"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile

CONCURRENCY = [1, 16, 64]


def read_tessera(path):
    """{(section, workload): {outstanding: row}} from Report::Tsv's rows."""
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows.setdefault((r["section"], r["workload"]), {})[int(r["outstanding"])] = r
    return rows


def read_peer(path):
    """{workload: {conc: {rps, p50, p99, runs}}}: the median over rounds, as the peer's own
    report.mjs takes it. Phase B's issue_opaque (a control) is left out."""
    runs = {}
    if not path:
        return {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["phase"] == "B" and r["workload"] == "issue_opaque":
                continue
            runs.setdefault(r["workload"], {}).setdefault(int(r["conc"]), []).append(r)
    out = {}
    for workload, by_conc in runs.items():
        for conc, rs in by_conc.items():
            out.setdefault(workload, {})[conc] = {
                "rps": statistics.median(float(r["rps"]) for r in rs),
                "p50": statistics.median(float(r["p50_ms"]) for r in rs),
                "p99": statistics.median(float(r["p99_ms"]) for r in rs),
                "errors": sum(int(r["errors"]) + int(r["bad"]) for r in rs),
                "runs": len(rs),
            }
    return out


# ---- series: lists of (outstanding, req/s, p99 ms) ----

def tessera_series(rows, section, workload):
    by_n = rows.get((section, workload), {})
    return [(n, float(r["req_s"]), float(r["p99_ms"])) for n, r in sorted(by_n.items())]


def bound_series(rows, section, workload):
    by_n = rows.get((section, workload), {})
    return [(n, float(r["bound_req_s"]), float(r["bound_p99_ms"])) for n, r in sorted(by_n.items())]


def bound_label(rows, workload, fallback):
    """The bound's name without its connection/thread count, which differs between 1 and 16."""
    by_n = rows.get(("bound", workload), {})
    names = [r["bound"] for _, r in sorted(by_n.items())]
    if not names:
        return fallback
    base = names[0].rsplit(",", 1)[0]
    counts = [name.rsplit(",", 1)[-1].strip() for name in names]
    return f"{base} ({' / '.join(dict.fromkeys(counts))})"


def peer_series(peer, workload):
    by_c = peer.get(workload, {})
    return [(c, v["rps"], v["p99"]) for c, v in sorted(by_c.items())]


TESSERA, BOUND, ECHO, PEER, OTHER = "#1f5fa8", "#c0392b", "#7f8c8d", "#27ae60", "#8e44ad"


def figures_spec(rows, peer):
    """(file, title, [(label, series, colour, dash)]) for each picture."""
    peer_note = "oidc-provider peer"
    return [
        ("introspect.png", "Introspect of a cached token", [
            ("tessera, gRPC", tessera_series(rows, "grpc", "Introspect, cached token"), TESSERA, 1),
            ("echo baseline, gRPC", tessera_series(rows, "grpc", "echo baseline"), ECHO, 2),
            ("tessera, HTTP /oauth2/introspect (Basic client, wrk)",
             tessera_series(rows, "http", "HTTP introspect, cached, Basic client"), OTHER, 1),
            ("HTTP echo route (wrk)", tessera_series(rows, "http", "HTTP echo route"), ECHO, 3),
            (f"{peer_note}, HTTP introspection (opaque token, wrk)",
             peer_series(peer, "introspect"), PEER, 4),
        ]),
        ("issue-service.png", "IssueToken with a service token (ES256 JWT)", [
            ("tessera, gRPC", tessera_series(rows, "grpc", "IssueToken (service token)"),
             TESSERA, 1),
            ("echo baseline, gRPC", tessera_series(rows, "grpc", "echo baseline"), ECHO, 2),
            (f"{peer_note}, client_credentials → ES256 JWT (HTTP, wrk)",
             peer_series(peer, "issue_jwt_es256"), PEER, 4),
        ]),
        ("issue-password.png", "IssueToken with a password (Argon2id)", [
            ("tessera, gRPC", tessera_series(rows, "bound", "IssueToken (password)"), TESSERA, 1),
            (bound_label(rows, "IssueToken (password)", "raw Argon2id"),
             bound_series(rows, "bound", "IssueToken (password)"), BOUND, 2),
        ]),
        ("refresh.png", "Refresh (one-time refresh token rotated, new access token)", [
            ("tessera, gRPC (durable commit)", tessera_series(rows, "bound", "Refresh"), TESSERA, 1),
            (bound_label(rows, "Refresh", "raw transaction"),
             bound_series(rows, "bound", "Refresh"), BOUND, 2),
            (f"{peer_note}, HTTP (in memory, RS256 JWT)", peer_series(peer, "refresh_jwt"), PEER, 4),
        ]),
        ("revoke.png", "Revoke of an access token", [
            ("tessera, gRPC (durable commit)", tessera_series(rows, "bound", "Revoke (access token)"),
             TESSERA, 1),
            (bound_label(rows, "Revoke (access token)", "raw commit"),
             bound_series(rows, "bound", "Revoke (access token)"), BOUND, 2),
            (f"{peer_note}, HTTP (in memory, opaque token)", peer_series(peer, "revoke"), PEER, 4),
        ]),
    ]


GNUPLOT_HEAD = """\
set terminal pngcairo size 1400,{height} enhanced font "DejaVu Sans,11" linewidth 1.5
set output "{out}"
set multiplot layout 1,2 title "{title}" font "DejaVu Sans,14"
set logscale x 2
set xtics ("1" 1, "16" 16, "64" 64)
set xrange [0.8:80]
set grid
set bmargin {bmargin}
# One legend for both panels, under them.
set key at screen 0.5, 0.02 center bottom vertical maxrows {rows} Left reverse box \
  font "DejaVu Sans,10" samplen 3 spacing 1.2 width 2
set pointsize 1.2
"""


def gnuplot_plot(series, column, tmp, stem):
    parts = []
    for i, (label, points, colour, dash) in enumerate(series):
        if not points:
            continue
        path = os.path.join(tmp, f"{stem}-{i}.dat")
        with open(path, "w") as f:
            for n, rps, p99 in points:
                # No call finished (a --seconds=1 run of slow logins): no latency to draw.
                f.write(f"{n} {rps} {p99 if p99 > 0 else 'NaN'}\n")
        label = label.replace('"', "'").replace("_", "\\\\_")
        parts.append(f'"{path}" using 1:{column} with linespoints lw 2 pt 7 dt {dash} '
                     f'lc rgb "{colour}" title "{label}"')
    return "plot " + ", \\\n  ".join(parts) + "\n"


def draw(spec, outdir):
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):  # the folder holds only what this draws
        if old.endswith(".png"):
            os.remove(os.path.join(outdir, old))
    drawn = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, title, series in spec:
            if not any(points for _, points, _, _ in series[:1]):
                continue  # tessera's own row was not measured in this run
            stem = name.rsplit(".", 1)[0]
            shown = sum(1 for _, points, _, _ in series if points)
            rows = (shown + 1) // 2 if shown > 3 else shown
            script = GNUPLOT_HEAD.format(out=os.path.join(outdir, name), title=title,
                                         height=520 + 22 * rows, bmargin=5 + rows, rows=rows)
            script += ('set title "throughput"\nset xlabel "calls outstanding (connections for '
                       'wrk)"\nset ylabel "requests per second"\nset yrange [0:*]\n')
            script += gnuplot_plot(series, 2, tmp, stem)
            script += ('set title "p99 latency (log scale)"\nset ylabel "p99 ms"\n'
                       'set logscale y 10\nset yrange [*:*]\nunset key\n')
            script += gnuplot_plot(series, 3, tmp, stem)
            script += "unset multiplot\n"
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
            drawn.append((name, title))
    return drawn


def figures(argv):
    results, rest = argv[0], argv[1:]
    peer_path = rest[0] if len(rest) == 3 else ""
    outdir, linkdir = rest[-2], rest[-1]
    rows, peer = read_tessera(results), read_peer(peer_path)
    drawn = draw(figures_spec(rows, peer), outdir)
    print("## Figures\n")
    print("Requests per second and p99 latency against the calls outstanding, from this run's rows"
          " (`bench-out/results.tsv`), drawn by `bench/results.py` with gnuplot: each path beside"
          " what bounds it (echo, the raw transaction or commit, raw Argon2id)"
          + (", and beside the oidc-provider peer measured right after it on the same machine"
             " (see the comparison below)." if peer else "."))
    print()
    for name, title in drawn:
        rel = os.path.relpath(os.path.join(outdir, name), linkdir)
        print(f"![{title}]({rel})\n")


# ---- the comparison table ----

def fmt_rate(v):
    return f"{v:,.0f}" if v is not None else "–"


def fmt_ms(v):
    return f"{v:.1f}" if v is not None and v >= 10 else (f"{v:.2f}" if v is not None else "–")


def compare(argv):
    rows, peer = read_tessera(argv[0]), read_peer(argv[1])
    lines = [
        # (name, tessera (section, workload), peer workload, target factor at 16 and 64)
        ("Introspect, cached (HTTP)", ("http", "HTTP introspect, cached, Basic client"),
         "introspect", None),
        ("Introspect, cached (tessera on gRPC)", ("grpc", "Introspect, cached token"),
         "introspect", None),
        ("IssueToken → ES256 JWT", ("grpc", "IssueToken (service token)"), "issue_jwt_es256",
         None),
        ("Refresh", ("bound", "Refresh"), "refresh_jwt", 2.0),
        ("Revoke", ("bound", "Revoke (access token)"), "revoke", 2.0),
    ]
    out = ["| workload | outstanding | tessera req/s | peer req/s | tessera / peer "
           "| tessera p99 ms | peer p99 ms | target | met |",
           "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for what, key, peer_workload, factor in lines:
        for n in CONCURRENCY:
            t = rows.get(key, {}).get(n)
            p = peer.get(peer_workload, {}).get(n)
            t_rate = float(t["req_s"]) if t else None
            p_rate = p["rps"] if p else None
            ratio = t_rate / p_rate if t_rate and p_rate else None
            target, met = "–", "–"
            if factor and n in (16, 64):
                target = f"≥ {factor:g} × peer"
                met = "yes" if ratio is not None and ratio >= factor else "**no**"
            errors = ""
            if t and int(t["errors"]) > 0:
                errors += f" (tessera: {t['errors']} errors)"
            if p and p["errors"] > 0:
                errors += f" (peer: {p['errors']} errors)"
            out.append(f"| {what} | {n} | {fmt_rate(t_rate)} | {fmt_rate(p_rate)} | "
                       f"{f'{ratio:.2f}' if ratio is not None else '–'} | "
                       f"{fmt_ms(float(t['p99_ms']) if t else None)} | "
                       f"{fmt_ms(p['p99'] if p else None)} | {target} | {met} |{errors}")
    runs = sorted({v["runs"] for w in peer.values() for v in w.values()})
    print("\n".join(out))
    print()
    print(f"Peer figures: the median of {'/'.join(map(str, runs)) or '0'} wrk run(s) each. What is"
          " compared:\n")
    print("- **Introspect, cached (HTTP)**: tessera's `/oauth2/introspect` with a Basic service-"
          "token client, driven by wrk as the peer is, against the peer's introspection of an "
          "opaque token; both authenticate the caller on every request.")
    print("- **Introspect, cached (tessera on gRPC)**: tessera's gRPC Introspect of a cached token "
          "against the same peer figures.")
    print("- **IssueToken → ES256 JWT**: tessera's IssueToken with a service token and its secret "
          "(gRPC) against the peer's `client_credentials` grant with an ES256 JWT access token.")
    print("- **Refresh**: tessera's Refresh (the refresh token rotated and a new ES256 access token,"
          " committed) against the peer's `refresh_token` grant (rotated, new RS256 access token).")
    print("- **Revoke**: tessera's Revoke of an access token (a JWT never seen before: verified, "
          "then its jti committed) against the peer's revocation of an opaque token.")


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "figures" and len(sys.argv) <= 6:
        figures(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
