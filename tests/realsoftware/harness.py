"""Start the real filter and directory software from Debian on 127.0.0.1, drive it, keep its logs.

Every daemon runs as a child process of the caller, in its own temporary folder with its own
configuration, on free loopback ports; readiness is polled with a deadline (never a fixed sleep) and
every process is stopped by PID: SIGTERM, then SIGKILL after a grace period (e2guardian ignores
SIGTERM for more than ten seconds), then any descendant still alive (squid's helpers, samba's smbd
and winbindd) by its own PID. Nothing here depends on pytest: a missing program raises
`NotInstalled` (an `Unavailable`), which a test turns into a skip.

What each start function gives back is a `Daemon`: `.pid`, `.port`, `.workdir`, `.logs` (name →
path) and `.stop()`. The software and the behaviour this relies on are described in DESIGN.md,
"Local infrastructure"; `scripts/install-real-software.sh` installs it.
"""

from __future__ import annotations

import contextlib
import grp
import http.server
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
#: Test host names. The proxies resolve names themselves, so these go into squid's hosts_file.
TEST_HOSTS = (
    "www.school.test", "casino.test", "proxysite.test", "nordvpn.test", "chat.test",
    "social.test", "downloads.test", "forum.test",
)
#: What the client address resolves back to (a school laptop, as in the asset register).
CLIENT_HOST = "lt-0001.school.test"
SQUID_HELPERS = Path("/usr/lib/squid")
#: The unprivileged account squid and e2guardian switch to when started as root.
DAEMON_USER = "proxy"


class Unavailable(RuntimeError):
    """The real software cannot run here (not installed, or needs root): skip, do not fail."""


class NotInstalled(Unavailable):
    """A program of the real software is not installed (scripts/install-real-software.sh)."""


class StartupError(RuntimeError):
    """A daemon did not become ready before its deadline; the message carries its log tail."""


# --------------------------------------------------------------------------- small utilities


def require(program: str) -> str:
    """The absolute path of `program`, or NotInstalled."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        raise NotInstalled(f"{program} is not installed (run scripts/install-real-software.sh)")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               proc: subprocess.Popen[bytes] | None = None, interval: float = 0.05) -> None:
    """Poll `predicate` until it holds or `timeout` seconds pass; fail early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise StartupError(f"{what}: process {proc.pid} exited with status {proc.returncode}")
        if time.monotonic() >= deadline:
            raise StartupError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)


def wait_for_lines(path: Path, predicate: Callable[[list[str]], bool], timeout: float = 15.0,
                   what: str | None = None) -> list[str]:
    """Poll a log file until its lines satisfy `predicate` (daemons write logs asynchronously)."""
    def lines() -> list[str]:
        try:
            return path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
    wait_until(lambda: predicate(lines()), timeout, what or f"lines in {path}")
    return lines()


def is_root() -> bool:
    return os.geteuid() == 0


def make_workdir(name: str, base: Path | None = None) -> Path:
    """A fresh folder the daemon's unprivileged user can use (mode 0755, owned by it as root)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sg-real-{name}-", dir=base))
    workdir.chmod(0o755)
    return workdir


def give_to_daemon_user(*paths: Path) -> None:
    """As root, hand folders to the account squid/e2guardian drop to, so they can write logs."""
    if not is_root():
        return
    uid = pwd.getpwnam(DAEMON_USER).pw_uid
    gid = grp.getgrnam(DAEMON_USER).gr_gid
    for top in paths:
        for root, dirs, files in os.walk(top):
            os.chown(root, uid, gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def daemon_user() -> str:
    return DAEMON_USER if is_root() else pwd.getpwuid(os.geteuid()).pw_name


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc), children before grandchildren."""
    tree = _children_map()
    found: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def pids_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains `text` (a daemon's unique work folder): the leak check."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# --------------------------------------------------------------------------- the daemon handle


@dataclass
class Daemon:
    """A running daemon started by this module; `stop()` is idempotent."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    logs: dict[str, Path] = field(default_factory=dict)
    grace: float = 5.0
    extra_ports: dict[str, int] = field(default_factory=dict)
    _stopped: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float | None = None) -> float:
        """SIGTERM, wait up to the grace period, SIGKILL; then reap stray descendants by PID.

        Returns the seconds it took."""
        started = time.monotonic()
        if self._stopped:
            return 0.0
        grace = self.grace if grace is None else grace
        family = descendants(self.pid)
        if self.proc.poll() is None:
            _signal(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Helpers and workers that outlived their parent (or were re-parented) go by PID too.
        family += [p for p in descendants(self.pid) if p not in family]
        deadline = time.monotonic() + 2.0
        while any(_alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in family:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        # Helpers that detached themselves (smbd starts samba-dcerpcd on demand, which leaves
        # for init) still name this daemon's unique work folder on their command line.
        strays = pids_mentioning(str(self.workdir))
        for pid in strays:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2.0
        while any(_alive(p) for p in strays) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in strays:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        self._stopped = True
        return time.monotonic() - started

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(argv: Sequence[str], workdir: Path, name: str,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = (workdir / f"{name}.stdout").open("wb")
    try:
        return subprocess.Popen(list(argv), cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    finally:
        out.close()


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _start(name: str, argv: Sequence[str], workdir: Path, port: int, logs: dict[str, Path],
           ready: Callable[[], bool], timeout: float, grace: float,
           env: dict[str, str] | None = None,
           extra_ports: dict[str, int] | None = None) -> Daemon:
    proc = _spawn(argv, workdir, name, env)
    daemon = Daemon(name, proc, port, workdir, logs, grace, extra_ports or {})
    try:
        wait_until(ready, timeout, f"{name} on {LOOPBACK}:{port}", proc)
    except BaseException as exc:
        daemon.stop(grace=1.0)
        tails = "\n".join(f"--- {p.name}\n{_tail(p)}"
                          for p in [workdir / f"{name}.stdout", *logs.values()])
        if isinstance(exc, StartupError):
            raise StartupError(f"{exc}\n{tails}") from None
        raise
    return daemon


# --------------------------------------------------------------------------- origin web server

PAGES: dict[str, tuple[str, bytes]] = {
    "/": ("text/html", b"<html><body><h1>Homework help</h1><p>Fractions.</p></body></html>\n"),
    "/x.html": ("text/html", b"<html><body>Play now</body></html>\n"),
    "/feed": ("text/html", b"<html><body>Your friends' posts</body></html>\n"),
    "/browse": ("text/html", b"<html><body>Browse anonymously</body></html>\n"),
    "/setup.exe": ("application/octet-stream", b"MZ\x90\x00" + b"\x00" * 508),
    "/worried.html": ("text/html",
                      b"<html><body><p>i keep cutting myself and i want to die, "
                      b"nobody would notice</p></body></html>\n"),
}


class _OriginHandler(http.server.BaseHTTPRequestHandler):
    server_version = "SafeguardOrigin/1"

    def do_GET(self) -> None:
        path = self.path
        if "://" in path:  # absolute-form target from a proxy: keep the path
            rest = path.split("://", 1)[1]
            path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        path = path.split("?", 1)[0]
        ctype, body = PAGES.get(path, ("text/html", b"<html><body>ok</body></html>\n"))
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads logs
        return


class Origin:
    """The tiny web server the test hosts resolve to (a thread: no PID of its own)."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), _OriginHandler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="sg-origin")

    def start(self) -> Origin:
        if self.thread.is_alive():
            return self
        self.thread.start()
        wait_until(lambda: port_open(self.port), 5, "origin web server")
        return self

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> Origin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_origin() -> Origin:
    return Origin().start()


# --------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class Fetch:
    url: str
    status: int
    body: bytes


def curl(url: str, proxy_port: int, user: str | None = None, password: str | None = None,
         timeout: float = 15.0) -> Fetch:
    """GET `url` through the proxy on 127.0.0.1:`proxy_port` with the real curl."""
    argv = [require("curl"), "-sS", "--noproxy", "", "-x", f"http://{LOOPBACK}:{proxy_port}",
            "-o", "-", "-w", "\n%{http_code}", "--max-time", str(int(timeout)), url]
    if user is not None:
        argv[1:1] = ["--proxy-user", f"{user}:{password or ''}", "--proxy-basic"]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run(argv, capture_output=True, timeout=timeout + 5, check=False, env=env)
    body, _, code = done.stdout.rpartition(b"\n")
    return Fetch(url, int(code or b"0"), body)


# --------------------------------------------------------------------------- squid (+squidGuard)


@dataclass(frozen=True)
class SquidGuardSetup:
    """A squidGuard config and db: category name → domains, blocked for the `school` source."""

    conf: Path
    logdir: Path
    blocked_log: Path


def write_squidguard(workdir: Path, categories: dict[str, Iterable[str]],
                     redirect: str, source_ips: Iterable[str] = (LOOPBACK,)) -> SquidGuardSetup:
    """squidGuard's config and plain-text db under `workdir/squidguard` (no .db build needed)."""
    require("squidGuard")
    root = workdir / "squidguard"
    db = root / "db"
    logdir = root / "log"
    logdir.mkdir(parents=True)
    dests = []
    for name, domains in categories.items():
        (db / name).mkdir(parents=True)
        (db / name / "domains").write_text("".join(f"{d}\n" for d in domains))
        (db / name / "urls").write_text("")
        dests.append(f"dest {name} {{\n    domainlist {name}/domains\n"
                     f"    urllist {name}/urls\n    log blocked.log\n}}\n")
    ips = "\n".join(f"    ip {ip}" for ip in source_ips)
    blocked = " ".join(f"!{name}" for name in categories)
    conf = root / "squidGuard.conf"
    conf.write_text(
        f"dbhome {db}\nlogdir {logdir}\n\n"
        f"src school {{\n{ips}\n}}\n\n" + "\n".join(dests) +
        "\nacl {\n"
        f"    school {{\n        pass {blocked} all\n        redirect {redirect}\n    }}\n"
        "    default {\n        pass all\n    }\n}\n")
    give_to_daemon_user(root)
    return SquidGuardSetup(conf, logdir, logdir / "blocked.log")


def start_squid(hosts: Iterable[str] = TEST_HOSTS, users: dict[str, str] | None = None,
                blocked_domains: Iterable[str] = ("casino.test",),
                squidguard: SquidGuardSetup | None = None, workdir: Path | None = None,
                require_auth: bool = True, timeout: float = 30.0) -> Daemon:
    """Squid on a free 127.0.0.1 port, native access.log, basic auth from a htpasswd file.

    `blocked_domains` are denied by an ACL (TCP_DENIED/403); `squidguard` makes squidGuard the
    url_rewrite_program. Logs: access (access.log), cache (cache.log), and squidguard's."""
    squid = require("squid")
    users = users if users is not None else {}
    workdir = workdir or make_workdir("squid")
    port = free_port()
    # One line: the first name is what 127.0.0.1 (the client) resolves back to, for squidGuard's
    # `ip/fqdn` field; the rest are aliases the proxy resolves forward.
    (workdir / "hosts").write_text(f"{LOOPBACK} {CLIENT_HOST} {' '.join(hosts)}\n")
    (workdir / "blocklist").write_text("".join(f".{d}\n" for d in blocked_domains) or
                                       ".never-blocked.invalid\n")
    auth = ""
    if users:
        htpasswd = require("htpasswd")
        passwd = workdir / "passwd"
        for i, (user, password) in enumerate(users.items()):
            flags = "-cbm" if i == 0 else "-bm"
            subprocess.run([htpasswd, flags, str(passwd), user, password], check=True,
                           capture_output=True)
        passwd.chmod(0o644)
        ncsa = SQUID_HELPERS / "basic_ncsa_auth"
        if not ncsa.exists():
            raise NotInstalled(f"{ncsa} is missing (squid's helpers)")
        auth = (f"auth_param basic program {ncsa} {passwd}\n"
                "auth_param basic children 2 startup=1 idle=1\n"
                "auth_param basic realm Safeguard test proxy\n"
                "acl authenticated proxy_auth REQUIRED\n")
    rewrite = ""
    if squidguard is not None:
        rewrite = (f"url_rewrite_program {require('squidGuard')} -c {squidguard.conf}\n"
                   "url_rewrite_children 2 startup=1 idle=1\n")
    access = "http_access deny !authenticated\n" if users and require_auth else ""
    allow = "http_access allow localhost authenticated\n" if users and require_auth else \
        "http_access allow localhost\n"
    conf = workdir / "squid.conf"
    conf.write_text(
        f"http_port {LOOPBACK}:{port}\n"
        f"pid_filename {workdir}/squid.pid\n"
        f"cache_log {workdir}/cache.log\n"
        f"access_log {workdir}/access.log squid\n"
        "cache_store_log none\n"
        "logfile_rotate 0\n"
        "cache deny all\n"
        "cache_mem 8 MB\n"
        "shutdown_lifetime 0 seconds\n"
        f"coredump_dir {workdir}\n"
        f"hosts_file {workdir}/hosts\n"
        "dns_nameservers 127.0.0.1\n"
        "visible_hostname safeguard-test\n"
        "pinger_enable off\n"
        "icp_port 0\n"
        "max_filedescriptors 1024\n"
        + (f"cache_effective_user {DAEMON_USER}\n" if is_root() else "")
        + auth + rewrite +
        "acl localhost src 127.0.0.1/32\n"
        f"acl blocklist dstdomain \"{workdir}/blocklist\"\n"
        + access +
        "http_access deny blocklist\n"
        + allow +
        "http_access deny all\n")
    give_to_daemon_user(workdir)
    logs = {"access": workdir / "access.log", "cache": workdir / "cache.log"}
    if squidguard is not None:
        logs["squidguard"] = squidguard.blocked_log
        logs["squidguard_main"] = squidguard.logdir / "squidGuard.log"
    check = subprocess.run([squid, "-k", "parse", "-f", str(conf)], capture_output=True,
                           text=True, check=False)
    if check.returncode != 0:
        raise StartupError(f"squid -k parse failed:\n{check.stdout}{check.stderr}")
    def ready() -> bool:
        # Not a probe connection: that would log a NONE_NONE/000 line into access.log.
        try:
            return "Accepting HTTP Socket connections" in logs["cache"].read_text(errors="replace")
        except FileNotFoundError:
            return False

    return _start("squid", [squid, "-N", "-f", str(conf)], workdir, port, logs, ready, timeout,
                  grace=10.0)


# --------------------------------------------------------------------------- e2guardian

E2G_ETC = Path("/etc/e2guardian")


def start_e2guardian(upstream_port: int, banned_sites: Iterable[str] = ("proxysite.test",),
                     exception_sites: Iterable[str] = ("www.school.test",),
                     banned_extensions: Iterable[str] = (".exe",),
                     weighted_phrases: dict[str, int] | None = None,
                     phrase_category: str = "Self Harm", naughtyness_limit: int = 50,
                     logfileformat: int = 6, basic_auth: bool = True,
                     workdir: Path | None = None, timeout: float = 30.0) -> Daemon:
    """e2guardian 5.3 on a free 127.0.0.1 port, forwarding to the proxy on `upstream_port`.

    The package's /etc/e2guardian tree is copied and re-pointed at the work folder; the lists the
    tests need are replaced with small ones (the big phrase lists would only slow the start)."""
    binary = require("e2guardian")
    if not (E2G_ETC / "e2guardian.conf").exists():
        raise NotInstalled(f"{E2G_ETC}/e2guardian.conf is missing (package e2guardian)")
    weighted_phrases = weighted_phrases if weighted_phrases is not None else {
        "cutting myself": 40, "want to die": 40}
    workdir = workdir or make_workdir("e2guardian")
    etc = workdir / "etc"
    logdir = workdir / "log"
    logdir.mkdir()
    shutil.copytree(E2G_ETC, etc, symlinks=True)
    for path in etc.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="latin-1")
            if str(E2G_ETC) in text:
                path.write_text(text.replace(str(E2G_ETC), str(etc)), encoding="latin-1")
    lists = etc / "lists"
    (lists / "bannedsitelist").write_text("".join(f"{s}\n" for s in banned_sites))
    (lists / "exceptionsitelist").write_text("".join(f"{s}\n" for s in exception_sites))
    (lists / "bannedextensionlist").write_text("".join(f"{e}\n" for e in banned_extensions))
    (lists / "weightedphraselist").write_text(
        f'#listcategory: "{phrase_category}"\n'
        + "".join(f"< {p} ><{w}>\n" for p, w in weighted_phrases.items()))
    for name in ("bannedphraselist", "exceptionphraselist"):
        (lists / name).write_text("")
    port = free_port()
    conf = etc / "e2guardian.conf"
    text = conf.read_text(encoding="latin-1")
    overrides = {
        "filterip": LOOPBACK, "filterports": str(port), "proxyip": LOOPBACK,
        "proxyport": str(upstream_port), "logfileformat": str(logfileformat),
        "loglocation": f"'{logdir}/access.log'", "pidfilename": f"'{workdir}/e2guardian.pid'",
        "nodaemon": "on", "httpworkers": "20", "daemonuser": f"'{daemon_user()}'",
        "daemongroup": f"'{daemon_user()}'", "filecachedir": f"'{workdir}'",
        "logconnectionhandlingerrors": "on",
    }
    for key in overrides:
        text = re.sub(rf"(?m)^{key}\s*=.*$", "", text)
    text += "\n# Safeguard test overrides\n" + "".join(
        f"{k} = {v}\n" for k, v in overrides.items())
    if basic_auth:
        text += f"authplugin = '{etc}/authplugins/proxy-basic.conf'\n"
    conf.write_text(text, encoding="latin-1")
    f1 = etc / "e2guardianf1.conf"
    f1.write_text(re.sub(r"(?m)^naughtynesslimit\s*=.*$", f"naughtynesslimit = {naughtyness_limit}",
                         f1.read_text(encoding="latin-1")), encoding="latin-1")
    give_to_daemon_user(workdir)
    logs = {"access": logdir / "access.log"}
    return _start("e2guardian", [binary, "-N", "-c", str(conf)], workdir, port, logs,
                  lambda: port_open(port), timeout, grace=3.0)


# --------------------------------------------------------------------------- samba AD DC

SAMBA_REALM = "SCHOOL.TEST"
SAMBA_DOMAIN = "SCHOOL"
SAMBA_BASE_DN = "DC=school,DC=test"
SAMBA_ADMIN_PASSWORD = "Sg-Adm1n-Test-Pass"  # noqa: S105 - a throwaway test DC's password
LDAP_PORT = 389  # samba's LDAP server has no port option
#: smbd reaches winbindd through libwbclient, which only knows the built-in socket folder: with
#: `winbindd socket directory` moved, every successful SMB login ends in NT_STATUS_INTERNAL_ERROR.
WINBINDD_PIPE = Path("/run/samba/winbindd/pipe")


def unix_socket_accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def _set_globals(conf: Path, options: dict[str, str]) -> None:
    """Set `key = value` in the [global] section of a generated smb.conf."""
    lines = conf.read_text().splitlines()
    start = lines.index("[global]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    wanted = {k.lower(): v for k, v in options.items()}
    kept = [line for line in lines[start:end]
            if line.split("=", 1)[0].strip().lower() not in wanted]
    new = [f"\t{k} = {v}" for k, v in wanted.items()]
    conf.write_text("\n".join(lines[:start] + kept + new + lines[end:]) + "\n")


@dataclass
class SambaDC(Daemon):
    """A running samba AD DC; `smbconf` for samba-tool, helpers to drive logins."""

    smbconf: Path = Path()
    client_conf: Path = Path()

    @property
    def ldap_port(self) -> int | None:
        return self.extra_ports.get("ldap")

    def smb_login(self, user: str, password: str, workstation: str = "LT-0001",
                  share: str | None = None) -> str:
        """One SMB session setup (NTLM) as `user`; returns smbclient's output (NT status)."""
        target = f"//{LOOPBACK}/{share}" if share else None
        argv = [require("smbclient"), "-s", str(self.client_conf), "-p", str(self.port),
                "-n", workstation, "--use-kerberos=disabled",
                "-U", f"{SAMBA_DOMAIN}\\{user}%{password}"]
        argv += [target, "-c", "ls"] if target else ["-L", f"//{LOOPBACK}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout + done.stderr

    def ldap_bind(self, user: str, password: str, workstation: str = "LT-0002") -> str:
        """An LDAP (NTLM over SASL) bind and search with the real ldbsearch."""
        argv = [require("ldbsearch"), f"--configfile={self.client_conf}",
                f"--netbiosname={workstation}", "-H", f"ldap://{LOOPBACK}",
                "--use-kerberos=disabled", "-U", f"{SAMBA_DOMAIN}\\{user}%{password}",
                "-b", SAMBA_BASE_DN, f"(sAMAccountName={user})", "dn"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout + done.stderr

    def tool(self, *args: str) -> str:
        """samba-tool against this DC's database (works offline and online)."""
        argv = [require("samba-tool"), *args, "-s", str(self.smbconf),
                "-H", f"tdb://{self.workdir}/dc/private/sam.ldb"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"samba-tool {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout


def provision_samba(workdir: Path, users: dict[str, str], lockout_threshold: int = 3,
                    timeout: float = 180.0) -> Path:
    """Provision a fresh AD domain (SCHOOL.TEST, no DNS) in `workdir/dc`; returns its smb.conf.

    Users are created and the lockout policy set offline, before the DC starts."""
    tool = require("samba-tool")
    target = workdir / "dc"
    argv = [tool, "domain", "provision", "--targetdir", str(target), f"--realm={SAMBA_REALM}",
            f"--domain={SAMBA_DOMAIN}", "--server-role=dc", "--dns-backend=NONE",
            f"--adminpass={SAMBA_ADMIN_PASSWORD}", "--host-name=sgdc",
            "--option=interfaces = 127.0.0.1", "--option=bind interfaces only = yes"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=workdir)
    if done.returncode != 0:
        if "setup" in done.stderr and "No such file" in done.stderr:
            raise NotInstalled("samba's provisioning files are missing (samba-ad-provision)")
        raise StartupError(f"samba-tool domain provision failed:\n{done.stderr[-3000:]}")
    smbconf = target / "etc" / "smb.conf"
    run = workdir / "run"
    run.mkdir()
    sam = f"tdb://{target}/private/sam.ldb"
    common = ["-s", str(smbconf), "-H", sam]
    _set_globals(smbconf, {})  # normalise before the tool calls read it
    subprocess.run([tool, "domain", "passwordsettings", "set",
                    f"--account-lockout-threshold={lockout_threshold}",
                    "--account-lockout-duration=5", "--reset-account-lockout-after=5",
                    *common], check=True, capture_output=True, timeout=120)
    for user, password in users.items():
        subprocess.run([tool, "user", "create", user, password, *common], check=True,
                       capture_output=True, timeout=120)
    return smbconf


def start_samba(users: dict[str, str], lockout_threshold: int = 3, ldap: bool = True,
                workdir: Path | None = None, timeout: float = 60.0) -> SambaDC:
    """Samba as an AD DC on 127.0.0.1 only (`samba -i -M single`), SMB on a free port.

    `log level = 1 auth_json_audit:3` writes one JSON authentication record per login to the
    log file (logs["samba"]); samba's own process logs to stdout under -i (logs["samba_stdout"]),
    and LDAP binds are audited there. LDAP is served only if port 389 is free (no port option)."""
    samba = require("samba")
    require("smbclient")
    if not is_root():
        raise Unavailable("samba as an AD DC needs root")
    if unix_socket_accepts(WINBINDD_PIPE):
        raise Unavailable(f"a winbindd already serves {WINBINDD_PIPE}: stop it first")
    workdir = workdir or make_workdir("samba")
    smbconf = provision_samba(workdir, users, lockout_threshold)
    port = free_port()
    run = workdir / "run"
    log = workdir / "log.samba"
    ldap = ldap and not port_open(LDAP_PORT) and shutil.which("ldbsearch") is not None
    services = "s3fs, rpc, winbindd" + (", ldap" if ldap else "")
    _set_globals(smbconf, {
        "interfaces": LOOPBACK, "bind interfaces only": "yes", "smb ports": str(port),
        "server services": services, "log file": str(log), "max log size": "0",
        "log level": "1 auth_json_audit:3", "pid directory": str(run),
        "ncalrpc dir": str(run / "ncalrpc"),
        "ntp signd socket directory": str(run / "ntp_signd"),
        "panic action": "", "printing": "bsd", "printcap name": "/dev/null",
        "load printers": "no", "disable spoolss": "yes",
    })
    client_conf = workdir / "client.conf"
    client_conf.write_text(f"[global]\n\tworkgroup = {SAMBA_DOMAIN}\n\trealm = {SAMBA_REALM}\n"
                           f"\tclient use kerberos = off\n\tlog file = {workdir}/log.client\n")
    logs = {"samba": log, "samba_stdout": workdir / "samba.stdout"}
    extra = {"ldap": LDAP_PORT} if ldap else {}

    def ready() -> bool:
        return (port_open(port) and (not ldap or port_open(LDAP_PORT))
                and unix_socket_accepts(WINBINDD_PIPE))

    base = _start("samba", [samba, "-i", "-M", "single", "-s", str(smbconf)], workdir, port,
                  logs, ready, timeout, grace=10.0, extra_ports=extra)
    return SambaDC(base.name, base.proc, base.port, base.workdir, base.logs, base.grace,
                   base.extra_ports, smbconf=smbconf, client_conf=client_conf)


AUTH_JSON = re.compile(r'^\s*(\{"timestamp": .*"type": "Authentication".*\})\s*$')


def samba_auth_records(*paths: Path) -> list[str]:
    """The JSON authentication audit lines (`"type": "Authentication"`) of samba's logs, in order
    of their timestamps, stripped of the log's indentation."""
    found: list[str] = []
    for path in paths:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                match = AUTH_JSON.match(line)
                if match:
                    found.append(match.group(1))
    found.sort(key=lambda rec: rec[len('{"timestamp": "'):].split('"', 1)[0])
    return found


# --------------------------------------------------------------------------- scenarios
# Each drives one piece of software through a fixed set of requests or logins, stops it, copies
# the logs it wrote into `out` and removes its work folder. Tests and the fixture refresh
# (`python -m tests.realsoftware.harness OUT`) share them, so the fixtures are what the test saw.

#: Synthetic accounts only (DESIGN: never real pupil data).
PROXY_USERS = {"pupil1": "Pupil-Pass-1x", "staff1": "Staff-Pass-1x"}
DC_USERS = {"pupil1": "Pupil-Pass-1x", "pupil2": "Pupil-Pass-2x", "staff1": "Staff-Pass-1x"}


@dataclass
class Capture:
    """What a scenario left: copied logs (name → path), the work folders it used, timings."""

    logs: dict[str, Path] = field(default_factory=dict)
    workdirs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _keep(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def _stop_all(daemons: list[Daemon], capture: Capture) -> None:
    for daemon in reversed(daemons):
        capture.seconds[f"{daemon.name}_stop"] = daemon.stop()


def squid_scenario(out: Path, keep_workdirs: bool = False) -> Capture:
    """Squid alone: allowed pages, an ACL-denied host (403), an unauthenticated request (407),
    an executable download; access.log → out/access.log."""
    capture = Capture()
    started = time.monotonic()
    daemons: list[Daemon] = []
    with start_origin() as origin:
        try:
            squid = start_squid(users=PROXY_USERS, blocked_domains=["casino.test"])
            daemons.append(squid)
            capture.workdirs.append(squid.workdir)
            capture.seconds["squid_start"] = time.monotonic() - started
            p1, s1 = ("pupil1", PROXY_USERS["pupil1"]), ("staff1", PROXY_USERS["staff1"])
            plan = [
                (origin.url("www.school.test", "/"), p1, 200),
                (origin.url("casino.test", "/x.html"), p1, 403),
                (origin.url("nordvpn.test", "/"), p1, 200),
                (origin.url("downloads.test", "/setup.exe"), s1, 200),
                (origin.url("www.school.test", "/"), None, 407),
                (origin.url("social.test", "/feed"), s1, 200),
            ]
            for url, who, expected in plan:
                got = curl(url, squid.port, *(who or (None, None)))
                if got.status != expected:
                    capture.notes.append(f"{url} as {who and who[0]}: {got.status} "
                                         f"(expected {expected})")
            wait_for_lines(squid.logs["access"], lambda lines: len(lines) >= len(plan))
        finally:
            _stop_all(daemons, capture)
    capture.logs["access"] = _keep(squid.logs["access"], out / "access.log")
    _cleanup(capture, keep_workdirs)
    capture.seconds["total"] = time.monotonic() - started
    return capture


def squidguard_scenario(out: Path, keep_workdirs: bool = False) -> Capture:
    """Squid with squidGuard as its url_rewrite_program; UT1-named categories; blocked.log."""
    capture = Capture()
    started = time.monotonic()
    daemons: list[Daemon] = []
    with start_origin() as origin:
        try:
            workdir = make_workdir("squidguard")
            capture.workdirs.append(workdir)
            guard = write_squidguard(workdir, {
                "social_networks": ["social.test"], "chat": ["chat.test"],
                "vpn": ["nordvpn.test"], "redirector": ["proxysite.test"],
            }, redirect=origin.url("www.school.test", "/blocked.html"))
            squid = start_squid(users=PROXY_USERS, blocked_domains=[], squidguard=guard,
                                workdir=workdir)
            daemons.append(squid)
            capture.seconds["squid_start"] = time.monotonic() - started
            p1, s1 = ("pupil1", PROXY_USERS["pupil1"]), ("staff1", PROXY_USERS["staff1"])
            plan = [
                (origin.url("www.school.test", "/"), p1),
                (origin.url("social.test", "/feed"), p1),
                (origin.url("chat.test", "/"), p1),
                (origin.url("nordvpn.test", "/"), s1),
                (origin.url("proxysite.test", "/browse"), p1),
            ]
            for url, who in plan:
                curl(url, squid.port, *who)
            wait_for_lines(guard.blocked_log, lambda lines: len(lines) >= 4)
            wait_for_lines(squid.logs["access"], lambda lines: len(lines) >= len(plan))
        finally:
            _stop_all(daemons, capture)
    capture.logs["blocked"] = _keep(guard.blocked_log, out / "blocked.log")
    capture.logs["squid_access"] = _keep(squid.logs["access"], out / "squid-access.log")
    _cleanup(capture, keep_workdirs)
    capture.seconds["total"] = time.monotonic() - started
    return capture


def e2guardian_scenario(out: Path, formats: Sequence[int] = (6, 1),
                        keep_workdirs: bool = False) -> Capture:
    """e2guardian in front of squid (basic auth passed through): allowed, banned site (500),
    banned extension (900), weighted phrase limit (402), exception site (602), and a host squid
    denies behind it. One e2guardian run per log format; format 6 → out/access.log, format N →
    out/formatN.log."""
    capture = Capture()
    started = time.monotonic()
    daemons: list[Daemon] = []
    kept: dict[int, Path] = {}
    with start_origin() as origin:
        try:
            squid = start_squid(users=PROXY_USERS, blocked_domains=["casino.test"])
            daemons.append(squid)
            capture.workdirs.append(squid.workdir)
            p1, s1 = ("pupil1", PROXY_USERS["pupil1"]), ("staff1", PROXY_USERS["staff1"])
            plan = [
                (origin.url("forum.test", "/"), p1),                 # allowed (0)
                (origin.url("proxysite.test", "/browse"), p1),       # banned site (500)
                (origin.url("downloads.test", "/setup.exe"), s1),    # banned extension (900)
                (origin.url("forum.test", "/worried.html"), p1),     # phrase limit (402)
                (origin.url("www.school.test", "/"), p1),            # exception site (602)
                (origin.url("casino.test", "/x.html"), p1),          # squid says 403 behind it
            ]
            for fmt in formats:
                t0 = time.monotonic()
                e2g = start_e2guardian(squid.port, logfileformat=fmt, naughtyness_limit=50)
                daemons.append(e2g)
                capture.workdirs.append(e2g.workdir)
                capture.seconds[f"e2guardian_f{fmt}_start"] = time.monotonic() - t0
                for url, who in plan:
                    curl(url, e2g.port, *who)
                wait_for_lines(e2g.logs["access"], lambda lines: len(lines) >= len(plan))
                capture.seconds[f"e2guardian_f{fmt}_stop"] = e2g.stop()
                name = "access.log" if fmt == 6 else f"format{fmt}.log"
                kept[fmt] = _keep(e2g.logs["access"], out / name)
        finally:
            _stop_all(daemons, capture)
    for fmt, path in kept.items():
        capture.logs[f"format{fmt}"] = path
    _cleanup(capture, keep_workdirs)
    capture.seconds["total"] = time.monotonic() - started
    return capture


def samba_scenario(out: Path, keep_workdirs: bool = False) -> Capture:
    """A samba AD DC: SMB logins that succeed, fail (wrong password, no such user) and lock an
    account out (threshold 3), and LDAP binds (when 389 is free). The JSON authentication
    records, exactly as written, from the log file and samba's stdout → out/auth_audit.log."""
    capture = Capture()
    started = time.monotonic()
    daemons: list[Daemon] = []
    try:
        dc = start_samba(DC_USERS, lockout_threshold=3)
        daemons.append(dc)
        capture.workdirs.append(dc.workdir)
        capture.seconds["samba_start"] = time.monotonic() - started
        dc.smb_login("pupil1", DC_USERS["pupil1"], workstation="LT-0001")
        dc.smb_login("staff1", DC_USERS["staff1"], workstation="LT-0002", share="netlogon")
        dc.smb_login("pupil1", "wrong-guess", workstation="LT-0001")
        for _ in range(3):
            dc.smb_login("pupil2", "Pupil-Pass-0x", workstation="PC-ICT-07")
        dc.smb_login("pupil2", DC_USERS["pupil2"], workstation="PC-ICT-07")  # locked out now
        dc.smb_login("nosuchpupil", "whatever", workstation="PC-ICT-07")
        expected = 8
        if dc.ldap_port:
            dc.ldap_bind("staff1", DC_USERS["staff1"])
            dc.ldap_bind("staff1", "not-it")
            expected += 2
        else:
            capture.notes.append("port 389 in use: no LDAP binds")
        wait_until(lambda: len(samba_auth_records(dc.logs["samba"], dc.logs["samba_stdout"]))
                   >= expected, 15, "samba auth audit records")
    finally:
        _stop_all(daemons, capture)
    dest = out / "auth_audit.log"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(f"{line}\n" for line in samba_raw_audit_lines(
        dc.logs["samba"], dc.logs["samba_stdout"])))
    capture.logs["auth_audit"] = dest
    _cleanup(capture, keep_workdirs)
    capture.seconds["total"] = time.monotonic() - started
    return capture


def samba_raw_audit_lines(*paths: Path) -> list[str]:
    """The audit lines as samba wrote them (indentation kept), merged in timestamp order."""
    found: list[tuple[str, str]] = []
    for path in paths:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                match = AUTH_JSON.match(line)
                if match:
                    ts = match.group(1)[len('{"timestamp": "'):].split('"', 1)[0]
                    found.append((ts, line))
    return [line for _, line in sorted(found, key=lambda pair: pair[0])]


def _cleanup(capture: Capture, keep: bool) -> None:
    if keep:
        return
    for workdir in capture.workdirs:
        if not pids_mentioning(str(workdir)):
            shutil.rmtree(workdir, ignore_errors=True)


SCENARIOS: dict[str, Callable[[Path], Capture]] = {
    "squid": squid_scenario,
    "samba": samba_scenario,
    "e2guardian": e2guardian_scenario,
    "squidguard": squidguard_scenario,
}


def package_versions(names: Iterable[str] = ("squid", "squidguard", "e2guardian", "samba",
                                             "smbclient", "ldb-tools", "curl")) -> dict[str, str]:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\n", *names],
                          capture_output=True, text=True, check=False)
    return dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh the real-output fixtures: `python -m tests.realsoftware.harness OUT [NAME ...]`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path, help="folder to write <software>/<log> into")
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(SCENARIOS)} (all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown software {', '.join(unknown)}")
    args.names = args.names or list(SCENARIOS)
    for name in args.names:
        capture = SCENARIOS[name](args.out / name)
        print(f"{name}: {', '.join(str(p) for p in capture.logs.values())} "
              f"({capture.seconds.get('total', 0):.1f} s){'; ' if capture.notes else ''}"
              f"{'; '.join(capture.notes)}")
    for package, version in package_versions().items():
        print(f"{package} {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
