"""``make bench``: start the portal as in production (gunicorn + gunicorn.conf.py) with the HDP emulator as
its own process, and print server times, bytes, behaviour under hung HDP calls and throughput.

It walks one complete onboarding as a person does (sign-in, every wizard step, the sandbox
provider's login and consent, the check), timing each wizard page on the way, and counts the HDP
calls of each request from the portal's own log lines; SQL queries per page and the seeding of the
growth figures go through ``scripts/bench_django.py`` (same settings and database). ``--quick``
takes fewer samples and sizes up to 100 (about two minutes), ``--growth-only`` measures the growth
section alone; README.md ("Benchmark") explains each line.

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
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent.parent
PY = sys.executable
ADMIN = ("ACME_Admin", "acme-admin-sandbox-pw")
HDP_ADMIN = ("d2cadmin", "d2cadmin-sandbox-pw")
SUPPORT = ("support", "support-sandbox-pw")
BENCH_APP = "Bench_app"


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


def sign_in(base: str, who: tuple[str, str] = ADMIN) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    client.get("/accounts/login/")
    token = client.cookies.get("csrftoken") or ""
    r = client.post(
        "/accounts/login/",
        data={"username": who[0], "password": who[1], "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/accounts/login/"},
    )
    if r.status_code != 302:
        raise SystemExit(f"bench: sign-in failed ({r.status_code})")
    return client


def verdict(ok: bool) -> str:
    return "holds" if ok else "falls short"


class HdpLog:
    """The portal's own log lines of its HDP calls ("HDP GET /path -> 200 in N ms"), read from
    gunicorn's stderr file: requests are sent one at a time, so the lines since a mark are that
    request's calls."""

    LINE = re.compile(r"HDP (GET|POST|PUT|DELETE) (\S+) -> (\S+) in (\d+) ms")
    STAMPED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?HDP (?:GET|POST|PUT|DELETE) \S+ -> \S+ in (\d+) ms",
                         re.MULTILINE)  # fmt: skip

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size

    def settle(self, quiet: float = 2.0, limit: float = 120.0) -> None:
        """Wait until the server stops logging (a request the client gave up on may still run)."""
        deadline, size = time.monotonic() + limit, -1
        while time.monotonic() < deadline and size != self.mark():
            size = self.mark()
            time.sleep(quiet)

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        return [(m.group(1), m.group(2), int(m.group(4))) for m in self.LINE.finditer(self._text(mark))]

    def wall_ms(self, mark: int) -> float:
        """How long, since ``mark``, at least one HDP call was in flight: the union of the calls'
        intervals (each line is logged when its call ends, with its duration), so calls that overlap
        (the support console's reads run several at once) are not counted twice."""
        spans = []
        for m in self.STAMPED.finditer(self._text(mark)):
            end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1000
            spans.append((end - int(m.group(2)), end))
        total, reach = 0.0, float("-inf")
        for start, end in sorted(spans):
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return total

    def _text(self, mark: int) -> str:
        with open(self.path, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")


class FormParser(HTMLParser):
    """Every <form> of a page: action, method and the fields a browser would send (hidden
    inputs, text values, checked boxes, the first option of a select)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {},
                               "buttons": {}})  # fmt: skip
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button"):
                self.forms[-1]["buttons"][a["name"]] = a.get("value", "")
            elif kind not in ("checkbox", "radio") or "checked" in a:
                self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1]["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_on(html: str, action_part: str) -> dict[str, Any]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if action_part in form["action"] or (
            action_part.startswith("field:") and action_part[6:] in form["fields"]
        ):
            return form
    raise SystemExit(f"bench: no form posting to {action_part!r} on the page")


def post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    body = {"csrfmiddlewaretoken": client.cookies.get("csrftoken") or "", **data}
    return client.post(path, data=body, headers={"Referer": str(client.base_url) + path})


@dataclass
class PageStats:
    name: str
    p50: float
    p99: float
    over50: float  # the page minus its HDP round trips (what the portal itself adds)
    over99: float
    hdp_calls: float
    hdp_ms: float
    raw: int
    gz: int
    status: int
    queries: int | None = None
    #: The bare view's p50 over the same stretch of time (a bare request before each sample), or None.
    bare50: float | None = None


BARE = "/bench/bare/"


def measure(
    client: httpx.Client, log: HdpLog, name: str, path: str, samples: int, paired: bool = False
) -> PageStats:
    """``samples`` GETs of ``path``. ``paired``: each is preceded by a GET of the bare view, whose
    p50 over the same seconds is the page's yardstick (``PageStats.bare50``)."""
    times, over, calls, hdp_ms, bare_times = [], [], [], [], []
    last = None
    for _ in range(samples):
        if paired:
            bare_times.append(timed_get(client, BARE)[0])
        mark = log.mark()
        try:
            ms, last = timed_get(client, path)
        except httpx.TimeoutException:  # counted as the client's whole wait; the server's calls still counted
            ms, last = client.timeout.read * 1000, httpx.Response(0, content=b"")
            log.settle()
        lines = log.since(mark)
        spent = sum(d for *_x, d in lines)
        times.append(ms)
        over.append(ms - log.wall_ms(mark))
        calls.append(len(lines))
        hdp_ms.append(spent)
    assert last is not None
    return PageStats(
        name, statistics.median(times), pct(times, 99), statistics.median(over), pct(over, 99),
        statistics.median(calls), statistics.median(hdp_ms), len(last.content), len(gzip.compress(last.content)),
        last.status_code, bare50=statistics.median(bare_times) if bare_times else None,
    )  # fmt: skip


HEADER = "page                    p50 ms  p99 ms  x bare  own p50  own p99  HDP calls  HDP ms  SQL  raw B  gzip B  status"


def yardstick(page: PageStats, bare: PageStats) -> float:
    """The bare view's p50 a page is judged against: the one taken alongside its own samples when
    there is one (the load of a shared machine moves between the bare row and a page's row), else
    the bare row's."""
    return page.bare50 or bare.p50


def show(page: PageStats, bare50: float) -> None:
    q = "?" if page.queries is None else str(page.queries)
    print(
        f"{page.name:22s} {page.p50:7.1f} {page.p99:7.1f} {page.p50 / bare50:6.2f}x {page.over50:8.1f} "
        f"{page.over99:8.1f} {page.hdp_calls:10.0f} {page.hdp_ms:7.0f} {q:>4s} {page.raw:6d} {page.gz:7d}  {page.status}"
    )


def django_helper(repo: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    """scripts/bench_django.py (this checkout's) against the measured checkout's code and database."""
    out = subprocess.run(
        [PY, str(HERE / "scripts" / "bench_django.py"), *args],
        cwd=repo,
        env={**env, "PYTHONPATH": str(repo), "LOG_LEVEL": "WARNING"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def onboard(
    base: str, log: HdpLog, samples: int
) -> tuple[list[PageStats], list[tuple[str, list[tuple[str, str, int]]]], str]:
    """One complete onboarding as a person makes it (sign-in to a passing check), over HTTP.

    Returns each wizard page's figures (the GET sampled ``samples`` times), the HDP calls of every
    request of the walk itself (not of the extra samples), and the run's path.
    """
    walk: list[tuple[str, list[tuple[str, str, int]]]] = []
    pages: list[PageStats] = []
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)

    def step(label: str, send: Any) -> httpx.Response:
        mark = log.mark()
        response: httpx.Response = send()
        walk.append((label, log.since(mark)))
        return response

    client.get("/accounts/login/")
    r = step(
        "sign-in (POST)",
        lambda: post(client, "/accounts/login/", {"username": ADMIN[0], "password": ADMIN[1]}),
    )
    if r.status_code != 302:
        raise SystemExit(f"bench: sign-in failed ({r.status_code})")
    paired = client.get(BARE).status_code == 200  # a checkout from before the bare view has none

    def page(label: str, path: str) -> str:
        response = step(f"{label} (GET)", lambda: client.get(path))
        if response.status_code != 200:
            raise SystemExit(f"bench: {path} answered {response.status_code}")
        pages.append(measure(client, log, label, path, samples, paired))
        return response.text

    def submit(label: str, path: str, data: dict[str, str], want: int = 303) -> httpx.Response:
        response = step(f"{label} (POST)", lambda: post(client, path, data))
        if response.status_code != want:
            raise SystemExit(f"bench: POST {path} answered {response.status_code}: {response.text[:300]}")
        return response

    html = page("step a: data store", "/setup/new/")
    fields = form_on(html, "/setup/new/")["fields"]
    # Store first (Google Analytics), then the provider (the sandbox one): two posts of step a's form.
    r = submit("step a: data store", "/setup/new/", {**fields, "datastore": "54"}, want=200)
    fields = form_on(r.text, "/setup/new/")["fields"]
    r = submit("step a: provider", "/setup/new/", {**fields, "provider": "sandbox"})
    run_path = r.headers["location"].rsplit("/app/", 1)[0]
    page("step b: application", f"{run_path}/app/")
    r = submit("step b: application", f"{run_path}/app/", {
        "action": "create", "name": BENCH_APP, "client_id": "sandbox-portal-client",
        "client_secret": "sandbox-portal-secret", "authorize_uri": base + "/sandbox/oauth/authorize/",
        "token_uri": base + "/sandbox/oauth/token/", "scope": "read offline_access", "extra_params": "prompt=consent",
    })  # fmt: skip
    html = page("step c: consent", f"{run_path}/authorize/")
    start = form_on(html, "/authorize/start/")
    r = submit("step c: connect", start["action"], start["fields"])
    # The sandbox provider (in this portal): its login, then its consent page.
    provider = httpx.URL(r.headers["location"])
    r = step("provider authorize (GET)", lambda: client.get(provider.raw_path.decode()))
    if r.status_code == 302:
        login_url = httpx.URL(r.headers["location"])
        login_path = login_url.raw_path.decode()
        html = client.get(login_path).text
        login = form_on(html, "/sandbox/provider/login/")
        r = step("provider login (POST)", lambda: post(client, login_path, {
            **login["fields"], "username": "sandbox_person", "password": "sandbox-person-pw"}))  # fmt: skip
        r = step("provider authorize (GET)", lambda: client.get(r.headers["location"]))
    consent = form_on(r.text, "field:client_id")  # DOT's consent form has no action
    r = step("provider consent (POST)", lambda: post(client, "/sandbox/oauth/authorize/",
                                                      {**consent["fields"], "allow": "Authorize"}))  # fmt: skip
    callback = httpx.URL(r.headers["location"])
    r = step("OAuth callback (GET)", lambda: client.get(callback.raw_path.decode()))
    if r.status_code not in (302, 303) or "/profile/" not in r.headers.get("location", ""):
        raise SystemExit(f"bench: the OAuth callback answered {r.status_code} {r.headers.get('location')}")
    page("step d: profile", f"{run_path}/profile/")
    submit("step d: profile", f"{run_path}/profile/", {"name": "Bench_profile"})
    page("step e: data source", f"{run_path}/datasource/")
    # Creating the data source runs HDP's test by itself (counted with that POST); step f shows it.
    submit("step e: data source", f"{run_path}/datasource/", {"name": "BenchGA"})
    html = page("step f: check", f"{run_path}/verify/")
    if "setup-complete" not in html:
        raise SystemExit("bench: the automatic connection check did not pass")
    return pages, walk, run_path


def growth(repo: Path, env: dict[str, str], log: HdpLog, support: httpx.Client, client: httpx.Client,
           sizes: list[int]) -> list[str]:  # fmt: skip
    """The growth figures (printed) and their target lines (returned, printed under "targets")."""
    tenant_path = "/support/tenants/71/"
    # 7. Growth: the support chain of Acme at N objects (profile + data source pairs), then Globex
    # grown to the largest N (Acme's calls must not move); My setups at N runs.
    print("\n== growth (each object: one OAuth profile and the data source using it)")
    chain: dict[int, PageStats] = {}
    for n in sizes:
        django_helper(repo, env, "objects", "71", str(n))
        chain[n] = measure(
            support, log, f"chain at {n}", tenant_path, 1 if n >= 1000 else 3 if n >= 100 else 5
        )
        print(f"support chain page 1, Acme at {n:5d} objects: p50 {chain[n].p50:8.1f} ms, "
              f"{chain[n].hdp_calls:5.0f} HDP calls, {chain[n].raw:8d} B")  # fmt: skip
    big = sizes[-1]
    django_helper(repo, env, "objects", "72", str(big))
    other = measure(support, log, "chain, Globex grown", tenant_path, 1 if big >= 1000 else 3)
    print(f"support chain page 1, Acme at {big} objects with Globex at {big}: p50 {other.p50:.1f} ms, "
          f"{other.hdp_calls:.0f} HDP calls")  # fmt: skip
    setups: dict[int, PageStats] = {}
    for n in sizes:
        django_helper(repo, env, "runs", str(n))
        setups[n] = measure(client, log, f"My setups at {n}", "/", 10)
        setups[n].queries = django_helper(repo, env, "queries", *ADMIN, "/")["/"]["queries"]
        print(f"My setups at {n:5d} runs: p50 {setups[n].p50:7.1f} ms, p99 {setups[n].p99:7.1f} ms, "
              f"{setups[n].queries} SQL queries, {setups[n].raw:7d} B")  # fmt: skip

    targets: list[str] = []
    small, large = chain[sizes[0]], chain[big]
    targets.append(
        f"support chain (page 1) of a tenant with {big} objects renders in under 2 s ({large.p50 / 1000:.2f} s): "
        f"{verdict(large.p50 < 2000)}"
    )
    targets.append(
        f"support chain HDP calls grow with that tenant's objects only ({large.hdp_calls:.0f} calls, "
        f"{other.hdp_calls:.0f} with another tenant at {big}): {verdict(other.hdp_calls == large.hdp_calls)}"
    )
    targets.append(
        f"support chain HDP calls are bounded, not one or more per object ({small.hdp_calls:.0f} at {sizes[0]}, "
        f"{large.hdp_calls:.0f} at {big}): {verdict(large.hdp_calls - small.hdp_calls < big)}"
    )
    page_size = int(env.get("SUPPORT_CHAIN_PAGE_SIZE") or 50)
    # a page of data sources and their profiles, two lists per Acme user, a few lists
    bound = 2 * page_size + 2 * 2 + 5
    targets.append(
        f"support chain page 1 at {big} objects makes at most page size x 2 + users x 2 + 5 HDP calls "
        f"({large.hdp_calls:.0f}, bound {bound}): {verdict(large.hdp_calls <= bound)}"
    )
    s_small, s_large = setups[sizes[0]], setups[big]
    targets.append(
        f"My setups at {big} runs renders in under 200 ms ({s_large.p50:.1f} ms): {verdict(s_large.p50 < 200)}"
    )
    targets.append(
        f"My setups' SQL queries do not grow with its runs ({s_small.queries} at {sizes[0]}, {s_large.queries} at {big}): "
        f"{verdict((s_large.queries or 0) <= (s_small.queries or 0))}"
    )
    return targets


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=str(HERE), help="checkout whose portal is measured")
    parser.add_argument("--samples", type=int, default=60, help="requests per page without HDP calls")
    parser.add_argument("--step-samples", type=int, default=20, help="requests per wizard page")
    parser.add_argument("--sizes", default="1,10,100,1000", help="object counts for the growth figures")
    parser.add_argument("--quick", action="store_true", help="fewer samples, sizes 1,10,100, no throughput")
    parser.add_argument(
        "--growth-only", action="store_true", help="only the growth figures and their targets"
    )
    args = parser.parse_args()
    if args.quick:
        args.samples, args.step_samples, args.sizes = 20, 5, "1,10,100"
    sizes = [int(s) for s in args.sizes.split(",")]
    repo = Path(args.repo).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    db_url = None
    started_all = time.monotonic()
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
            LOG_LEVEL="INFO",
            # Production's persistent connections (portal/settings.py: 60 s when PORTAL_ENV=prod; the
            # development default 0 opened a new PostgreSQL connection on every request, 5-10 ms a page).
            DB_CONN_MAX_AGE="60",
            # The bare signed-in view every page is compared with (/bench/bare/, portal/lib/bench.py).
            PORTAL_BENCH_VIEWS="1",
        )
        env.pop("PORTAL_ENV", None)
        print(f"database: {'PostgreSQL (throwaway cluster)' if db_url.startswith('postgres') else 'SQLite'}")
        run = lambda *a: subprocess.run(
            [PY, "manage.py", *a], cwd=repo, env=env, check=True, capture_output=True
        )
        run("migrate", "--noinput")
        run("seed_sandbox", "--app-name", BENCH_APP)
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
        print(f"server: gunicorn {' '.join(a for a in gargs if not a.startswith('127.'))}, 3 workers")
        procs.append(
            subprocess.Popen(
                [PY, "-m", "gunicorn", *gargs, "portal.wsgi:application"],
                cwd=repo,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / "gunicorn.log", "wb"),
            )
        )
        log = HdpLog(tmp / "gunicorn.log")
        base = f"http://127.0.0.1:{web_port}"
        wait_http(f"http://127.0.0.1:{emu_port}/api/mgmt/user")
        wait_http(base + "/accounts/login/")
        anon = httpx.Client(base_url=base, timeout=60)
        for _ in range(10):  # warm every worker (imports, first connections) before timing
            anon.get("/accounts/login/")

        if args.growth_only:  # the growth figures and their targets only
            support = sign_in(base, SUPPORT)
            post(support, "/support/reason/", {"reason": "SUP-0001 benchmark", "next": "/support/"})
            growth_targets = growth(repo, env, log, support, sign_in(base), sizes)
            print("\n== targets")
            for line in growth_targets:
                print(line)
            print(f"\nbench took {time.monotonic() - started_all:.0f} s")
            return 0

        # 1. One complete onboarding; each wizard page sampled on the way.
        steps, walk, run_path = onboard(base, log, args.step_samples)
        client = sign_in(base)
        support = sign_in(base, SUPPORT)
        post(support, "/support/reason/", {"reason": "SUP-0001 benchmark", "next": "/support/"})
        tenant_path = "/support/tenants/71/"

        # 2. Pages without HDP calls, the support console, and the bare view (same process, same server):
        # a signed-in view with the same middleware, session and authentication as every page, but no
        # template and no HDP call (portal/lib/bench.py). The anonymous login page is shown beside it.
        bare = measure(client, log, "bare (signed in)", "/bench/bare/", args.samples)
        login_page = measure(anon, log, "login page (anonymous)", "/accounts/login/", args.samples)
        if bare.status != 200:  # a checkout from before the bare view (--repo): the login page stands in
            print(f"\nbench: /bench/bare/ answered {bare.status}; the anonymous login page is the bare view")
            bare = login_page
        paired = bare is not login_page
        others = [
            measure(client, log, "My setups", "/", args.samples, paired),
            measure(
                client,
                log,
                "setup page",
                f"/connections/setups/{run_path.rsplit('/', 1)[-1]}/",
                args.samples,
                paired,
            ),
            measure(support, log, "support: tenants", "/support/", args.step_samples, paired),
            measure(support, log, "support: tenant chain", tenant_path, args.step_samples, paired),
        ]
        sql = django_helper(repo, env, "queries", *ADMIN,
                            *[f"{run_path}/{p}/" for p in ("app", "authorize", "profile", "datasource", "verify")],
                            "/setup/new/", "/", f"/connections/setups/{run_path.rsplit('/', 1)[-1]}/",
                            "/bench/bare/")  # fmt: skip
        sql_support = django_helper(repo, env, "queries", *SUPPORT, "/support/", tenant_path)
        paths = [
            "/setup/new/",
            *[f"{run_path}/{p}/" for p in ("app", "authorize", "profile", "datasource", "verify")],
        ]
        bare.queries = sql.get("/bench/bare/", {}).get("queries") if bare is not login_page else None
        for page, path in zip(steps, paths, strict=True):
            page.queries = sql.get(path, {}).get("queries")
        for page, path in zip(
            others[:2], ["/", f"/connections/setups/{run_path.rsplit('/', 1)[-1]}/"], strict=True
        ):
            page.queries = sql.get(path, {}).get("queries")
        for page, path in zip(others[2:], ["/support/", tenant_path], strict=True):
            page.queries = sql_support.get(path, {}).get("queries")
        print(
            "\n== pages (round trip on 127.0.0.1; 'own' = the page minus the time its HDP calls were in flight, from the"
        )
        print("   portal's own log; SQL queries counted in-process with the same settings and database)")
        print(HEADER)
        show(bare, bare.p50)
        if login_page is not bare:
            show(login_page, bare.p50)
        for page in [*steps, *others]:
            show(page, yardstick(page, bare))
        if any(page.bare50 for page in [*steps, *others]):
            print(
                "   (x bare: against the bare view's p50 measured alongside that page, a bare request before each sample:"
            )
            print(
                "    " + ", ".join(f"{p.name} {p.bare50:.1f} ms" for p in [*steps, *others] if p.bare50) + ")"
            )

        total_calls = sum(len(calls) for _label, calls in walk)
        print(f"\n== one onboarding, sign-in to a passing check: {total_calls} HDP calls")
        for label, calls in walk:
            if calls:
                print(f"  {label:28s} " + ", ".join(f"{m} {p}" for m, p, _d in calls))

        enc = client.get("/", headers={"Accept-Encoding": "gzip"})
        sent_gzip = enc.headers.get("content-encoding") == "gzip"
        first_gz = len(gzip.compress(enc.content))

        # 3. Static files: hashed names, compression, cache.
        html = client.get("/").text
        statics = re.findall(r"(/static/[^\"' >]+)", html)
        hashed = bool(statics) and all(re.search(r"\.[0-9a-f]{12}\.", s) for s in statics)
        static_ok = hashed
        print()
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

        # 4. Hung HDP: N sign-ins whose HDP call hangs; other people's pages meanwhile. Steady state
        # first, as on a server that has run for a while: a burst wider than all workers' threads, so
        # each thread has served a request and opened its persistent database connection (otherwise
        # the threads that first serve the others while N are held open connections, several ms each).
        threads = 3 * 32  # gunicorn.conf.py: workers x threads
        with concurrent.futures.ThreadPoolExecutor(max_workers=threads + 4) as pool:
            list(pool.map(lambda _i: client.get("/").status_code, range(3 * threads)))
        idle = measure(client, log, "My setups", "/", args.samples)
        idle_p99 = idle.p99
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
                post(c, "/accounts/login/", {"username": ADMIN[0], "password": ADMIN[1]})
            except httpx.HTTPError:
                pass  # timed out at the client: counted as the full wait
            return time.perf_counter() - start

        def all_hung() -> bool:
            armed = httpx.get(f"http://127.0.0.1:{emu_port}/_faults", auth=HDP_ADMIN, timeout=10).json()[
                "faults"
            ]
            return not any(f["remaining"] for f in armed)

        # The samples are taken while the calls hang: from when all of them have reached HDP (the
        # emulator's fault has none left) until 0.5 s before the portal's read timeout answers the
        # first. The moment all 50 are answered is measured apart ("as they are answered"), with no
        # target. Before, the window was 1-7 s after the start: it ran past the 5 s timeout whenever
        # 200 samples took longer than 4 s, so the verdict depended on how fast My setups was.
        read_timeout = float(env["HDP_READ_TIMEOUT_MS"]) / 1000
        with concurrent.futures.ThreadPoolExecutor(max_workers=hung) as pool:
            begun = time.monotonic()
            futures = [pool.submit(hung_login) for _ in range(hung)]
            while not all_hung() and time.monotonic() < begun + read_timeout - 1:
                time.sleep(0.05)
            print(f"\nall {hung} sign-ins were waiting on HDP after {time.monotonic() - begun:.2f} s")
            during: list[float] = []
            answered: list[float] = []
            deadline = begun + min(delay, read_timeout) - 0.5
            while time.monotonic() < deadline and len(during) < 200:
                try:
                    during.append(timed_get(client, "/")[0])
                except httpx.HTTPError:
                    during.append(60_000.0)
            while not all(f.done() for f in futures) and len(answered) < 200:
                try:
                    answered.append(timed_get(client, "/")[0])
                except httpx.HTTPError:
                    answered.append(60_000.0)
            hung_times = [f.result() for f in futures]
        httpx.delete(f"http://127.0.0.1:{emu_port}/_faults", auth=HDP_ADMIN, timeout=10)
        during_p99 = pct(during, 99) if during else float("inf")
        print(
            f"\nwhile {hung} HDP calls hang {delay:g} s: My setups p99 {during_p99:.1f} ms vs idle {idle_p99:.1f} ms "
            f"({during_p99 / idle_p99:.1f}x, {len(during)} samples); hung sign-ins answered in max {max(hung_times):.1f} s "
            f"(HDP_READ_TIMEOUT_MS 5000); as they are answered: p99 "
            f"{pct(answered, 99) if answered else float('nan'):.1f} ms ({len(answered)} samples)"
        )

        # 5. Throughput at 10 and 50 concurrent signed-in admins (bounded request count).
        rates: dict[int, float] = {}
        for conc in () if args.quick else (10, 50):
            clients = [sign_in(base) for _ in range(min(conc, 10))]
            total = conc * 10
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as pool:
                list(pool.map(lambda i: clients[i % len(clients)].get("/").status_code, range(total)))
            elapsed = time.perf_counter() - start
            rates[conc] = total / elapsed
            print(f"throughput at {conc} concurrent: {rates[conc]:.1f} req/s ({total} requests, My setups)")

        # 6. RSS per worker.
        master = procs[-1].pid
        kids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        for k in kids:
            with open(f"/proc/{k}/status") as f:
                rss = next((ln.split()[1] for ln in f if ln.startswith("VmRSS")), "?")
            print(f"worker {k}: RSS {int(rss) / 1024:.0f} MiB")

        growth_targets = growth(repo, env, log, support, client, sizes)
        print("\n== targets")
        for page in [*steps, *others]:
            over50, over99 = page.over50, page.over99
            stick = yardstick(page, bare)
            # Two targets, each on its own line: the ratio (issue 18: every page within 3x a bare signed-in
            # view, measured alongside) and the absolute budget over the page's HDP round trips (issue 10).
            print(
                f"{page.name}: within 3x a bare view ({over50 / stick:.2f}x the bare signed-in view's "
                f"{stick:.1f} ms): {verdict(over50 <= 3 * stick)}"
            )
            print(
                f"{page.name}: adds <= 15 ms p50 / 60 ms p99 over its HDP round trips "
                f"(adds {over50:.1f}/{over99:.1f} ms): {verdict(over50 <= 15 and over99 <= 60)}"
            )
        print(f"one onboarding makes at most 8 HDP calls ({total_calls}): {verdict(total_calls <= 8)}")
        print(
            f"while {hung} HDP calls hang, other pages' p99 stays under 2x idle ({during_p99:.1f} vs {idle_p99:.1f} ms): "
            f"{verdict(during_p99 < 2 * idle_p99)}"
        )
        print(
            f"a hung HDP is answered within the configured timeout (5 s read, no retry; +3 s slack: "
            f"max {max(hung_times):.1f} s): {verdict(max(hung_times) <= 5 + 3)}"
        )
        for line in growth_targets:
            print(line)
        print(
            f"first page at most 60 KB compressed ({first_gz} B, sent gzip: {sent_gzip}): "
            f"{verdict(first_gz <= 60_000 and sent_gzip)}"
        )
        print(f"static files compressed, hashed names, long cache: {verdict(static_ok)}")
        print(f"\nbench took {time.monotonic() - started_all:.0f} s")
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
