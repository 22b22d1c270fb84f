"""``make bench``: start the portal as in production (gunicorn + gunicorn.conf.py) with the HDP emulator as
its own process, and print server times, bytes, behaviour under hung HDP calls and throughput.

Not a test: it prints verdicts ("holds" / "falls short") and exits 0 whenever it could measure. Traffic
goes to 127.0.0.1 only; every loop is bounded. PostgreSQL (a throwaway cluster, as scripts/test.sh) when
its binaries exist, else SQLite (said in the output). ``--repo PATH`` runs the servers from another
checkout (to measure a "before").
"""

# ruff: noqa: S603, S607, SIM115, B023, E731, SIM105 - a local benchmark that starts its own servers with fixed argv; log files live until the finally block
from __future__ import annotations

import argparse
import concurrent.futures
import glob
import gzip
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent.parent
PY = sys.executable
ADMIN = ("ACME_Admin", "acme-admin-sandbox-pw")
HDP_ADMIN = ("d2cadmin", "d2cadmin-sandbox-pw")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer in {seconds:.0f} s")


def start_postgres(tmp: Path) -> str | None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    pgbin = (
        bins[-1] if bins else (str(Path(shutil.which("initdb")).parent) if shutil.which("initdb") else None)
    )
    if not pgbin:
        return None
    port = free_port()
    data = tmp / "pg"
    root = os.getuid() == 0
    if root:
        shutil.chown(tmp, "postgres")
    cmd = (
        f"{pgbin}/initdb -D {data} -A trust -U postgres >/dev/null && {pgbin}/pg_ctl -D {data} "
        f"-o '-k {tmp} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c max_connections=300' "
        f"-l {tmp}/pg.log -w start >/dev/null"
    )
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd] if root else ["sh", "-c", cmd], check=True)
    return f"postgres://postgres@127.0.0.1:{port}/postgres"


def stop_postgres(tmp: Path) -> None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    pgbin = bins[-1] if bins else str(Path(shutil.which("pg_ctl") or "pg_ctl").parent)
    cmd = f"{pgbin}/pg_ctl -D {tmp / 'pg'} -m fast stop >/dev/null 2>&1"
    root = os.getuid() == 0
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd] if root else ["sh", "-c", cmd], check=False)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = client.get(path)
    return (time.perf_counter() - start) * 1000, response


def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    client.get("/accounts/login/")
    token = client.cookies.get("csrftoken") or ""
    r = client.post(
        "/accounts/login/",
        data={"username": ADMIN[0], "password": ADMIN[1], "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/accounts/login/"},
    )
    if r.status_code != 302:
        raise SystemExit(f"bench: sign-in failed ({r.status_code})")
    return client


def verdict(ok: bool) -> str:
    return "holds" if ok else "falls short"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=str(HERE), help="checkout whose portal is measured")
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    repo = Path(args.repo).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    db_url = None
    try:
        try:
            db_url = start_postgres(tmp)
        except subprocess.CalledProcessError:
            db_url = None
        if not db_url:
            db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        emu_port, web_port = free_port(), free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=db_url,
            PORT=str(web_port),
            HDP_BASE_URL=f"http://127.0.0.1:{emu_port}",
            HDP_READ_TIMEOUT_MS="5000",
            DJANGO_SETTINGS_MODULE="portal.settings",
            GUNICORN_BIND=f"127.0.0.1:{web_port}",
            GUNICORN_WORKERS="3",
            PORTAL_HASHED_STATIC="1",
        )
        env.pop("PORTAL_ENV", None)
        print(f"database: {'PostgreSQL (throwaway cluster)' if db_url.startswith('postgres') else 'SQLite'}")
        run = lambda *a: subprocess.run(
            [PY, "manage.py", *a], cwd=repo, env=env, check=True, capture_output=True
        )  # noqa: E731
        run("migrate", "--noinput")
        run("seed_sandbox")
        run("collectstatic", "--noinput", "--verbosity", "0")
        procs.append(
            subprocess.Popen(
                [PY, "manage.py", "hdp_emulator", "--port", str(emu_port)],
                cwd=repo,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / "emu.log", "wb"),
            )
        )
        conf = repo / "gunicorn.conf.py"
        gargs = ["-c", str(conf)] if conf.exists() else ["--workers", "3", "--bind", f"127.0.0.1:{web_port}"]
        print(f"server: gunicorn {' '.join(a for a in gargs if not a.startswith('127.'))}")
        procs.append(
            subprocess.Popen(
                [PY, "-m", "gunicorn", *gargs, "portal.wsgi:application"],
                cwd=repo,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / "gunicorn.log", "wb"),
            )
        )
        base = f"http://127.0.0.1:{web_port}"
        wait_http(f"http://127.0.0.1:{emu_port}/api/mgmt/user")
        wait_http(base + "/accounts/login/")
        client = sign_in(base)
        anon = httpx.Client(base_url=base, timeout=60)

        # 1. Per page: p50/p99, bytes raw/gzip.
        pages = {"bare (login page)": "/accounts/login/", "My setups": "/", "support console": "/support/"}
        print("\npage                  p50 ms   p99 ms  x bare  raw B   gzip B  status")
        results: dict[str, tuple[float, float]] = {}
        for name, path in pages.items():
            times, last = [], None
            for _ in range(args.samples):
                ms, last = timed_get(anon if path == "/accounts/login/" else client, path)
                times.append(ms)
            assert last is not None
            p50, p99 = statistics.median(times), pct(times, 99)
            results[name] = (p50, p99)
            raw = len(last.content)
            gz = len(gzip.compress(last.content))
            ratio = p50 / results["bare (login page)"][0]
            print(f"{name:20s} {p50:7.1f} {p99:8.1f} {ratio:6.2f}x {raw:7d} {gz:7d}  {last.status_code}")
        enc = client.get("/", headers={"Accept-Encoding": "gzip"})
        sent_gzip = enc.headers.get("content-encoding") == "gzip"
        first_gz = len(gzip.compress(enc.content))

        # 2. Static files: hashed names, compression, cache.
        html = client.get("/").text
        statics = re.findall(r"(/static/[^\"' >]+)", html)
        hashed = bool(statics) and all(re.search(r"\.[0-9a-f]{12}\.", s) for s in statics)
        static_ok = hashed
        for s in statics[:5]:
            r = httpx.get(base + s, headers={"Accept-Encoding": "gzip"})
            cc = r.headers.get("cache-control", "")
            m = re.search(r"max-age=(\d+)", cc)
            static_ok = (
                static_ok
                and bool(m and int(m.group(1)) >= 86400 * 30)
                and bool(r.headers.get("content-encoding"))
            )
            print(f"static {s}: {r.headers.get('content-encoding') or 'identity'}, cache-control {cc!r}")

        # 3. Hung HDP: N sign-ins whose HDP call hangs; other people's pages meanwhile.
        idle_p99 = results["My setups"][1]
        hung, delay = 50, 8.0
        httpx.post(
            f"http://127.0.0.1:{emu_port}/_faults",
            auth=HDP_ADMIN,
            timeout=10,
            json={
                "method": "GET",
                "path_regex": "^/api/mgmt/user$",
                "kind": "delay",
                "delay": delay,
                "times": hung,
            },
        )

        def hung_login() -> float:
            c = httpx.Client(base_url=base, timeout=60)
            c.get("/accounts/login/")
            start = time.perf_counter()
            try:
                c.post(
                    "/accounts/login/",
                    data={
                        "username": ADMIN[0],
                        "password": ADMIN[1],
                        "csrfmiddlewaretoken": c.cookies.get("csrftoken") or "",
                    },
                )
            except httpx.HTTPError:
                pass  # timed out at the client: counted as the full wait
            return time.perf_counter() - start

        with concurrent.futures.ThreadPoolExecutor(max_workers=hung) as pool:
            futures = [pool.submit(hung_login) for _ in range(hung)]
            time.sleep(1.0)
            during: list[float] = []
            deadline = time.monotonic() + delay - 2
            while time.monotonic() < deadline and len(during) < 200:
                try:
                    during.append(timed_get(client, "/")[0])
                except httpx.HTTPError:
                    during.append(60_000.0)
            hung_times = [f.result() for f in futures]
        httpx.delete(f"http://127.0.0.1:{emu_port}/_faults", auth=HDP_ADMIN, timeout=10)
        during_p99 = pct(during, 99) if during else float("inf")
        print(
            f"\nwhile {hung} HDP calls hang {delay:g} s: My setups p99 {during_p99:.1f} ms vs idle {idle_p99:.1f} ms "
            f"({during_p99 / idle_p99:.1f}x, {len(during)} samples); hung sign-ins answered in max {max(hung_times):.1f} s"
        )

        # 4. Throughput at 10 and 50 concurrent signed-in admins (bounded request count).
        for conc in (10, 50):
            clients = [sign_in(base) for _ in range(min(conc, 10))]
            total = conc * 10
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as pool:
                list(pool.map(lambda i: clients[i % len(clients)].get("/").status_code, range(total)))
            elapsed = time.perf_counter() - start
            print(
                f"throughput at {conc} concurrent: {total / elapsed:.1f} req/s ({total} requests, My setups)"
            )

        # 5. RSS per worker.
        master = procs[-1].pid
        kids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        for k in kids:
            with open(f"/proc/{k}/status") as f:
                rss = next((ln.split()[1] for ln in f if ln.startswith("VmRSS")), "?")
            print(f"worker {k}: RSS {int(rss) / 1024:.0f} MiB")

        bare50, bare99 = results["bare (login page)"]
        m50, m99 = results["My setups"]
        print("\n== targets")
        print(
            f"My setups adds <= 15 ms p50 / 60 ms p99 over bare and is within 3x a bare view "
            f"({m50:.1f}/{m99:.1f} ms vs {bare50:.1f}/{bare99:.1f} ms): "
            f"{verdict(m50 - bare50 <= 15 and m99 - bare99 <= 60 and m50 <= 3 * bare50)}"
        )
        print(
            f"while {hung} HDP calls hang, other pages' p99 stays under 2x idle: {verdict(during_p99 < 2 * idle_p99)}"
        )
        print(
            f"a hung HDP is answered within the configured timeout (5 s read + retry budget): "
            f"{verdict(max(hung_times) <= 5 * 2 + 3)}"
        )
        print(
            f"first page at most 60 KB compressed ({first_gz} B, sent gzip: {sent_gzip}): "
            f"{verdict(first_gz <= 60_000 and sent_gzip)}"
        )
        print(f"static files compressed, hashed names, long cache: {verdict(static_ok)}")
        print(
            "per wizard step page, HDP calls per onboarding, support chain and My setups at 1..1,000 objects: "
            "not measured by this version of the bench: falls short"
        )
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if db_url and db_url.startswith("postgres"):
            stop_postgres(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
