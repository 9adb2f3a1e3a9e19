"""Web-filter logs: Squid access.log, e2guardian format 6, squidGuard, FortiGate, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from producers.simulator.model import Web
from producers.simulator.sites import FORTIGUARD
from producers.simulator.writers import dst_ip, host_of, local, utc_iso_ms

UA_PC = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36")
UA_PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
GROUPS = {"pupils": 1, "boarders": 2, "staff": 3, "guests": 4}


def squid(records: Iterable[Web]) -> str:
    """`%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt` (SSL-bumped: full URLs)."""
    out = []
    for w in records:
        elapsed = int(w.ts * 1000) % 900 + 1
        if w.blocked:
            out.append(f"{w.ts:.3f} {elapsed:6d} {w.ip} TCP_DENIED/403 3921 {w.method} {w.url} "
                       f"{w.user} HIER_NONE/- text/html\n")
        else:
            out.append(f"{w.ts:.3f} {elapsed:6d} {w.ip} TCP_MISS/200 {w.size} {w.method} "
                       f"{w.url} {w.user} HIER_DIRECT/{dst_ip(host_of(w.url))} {w.mime}\n")
    return "".join(out)


def _e2g_block(w: Web) -> tuple[int, str]:
    path = w.url.split("?", 1)[0]
    for ext in (".exe", ".msi"):
        if path.endswith(ext):
            return 900, f"*DENIED* Banned extension: {ext}"
    return 500, f"*DENIED* Banned site: {host_of(w.url)}"


def e2guardian(records: Iterable[Web]) -> str:
    """Format 6 with `logclienthostandip = on` (20 tab-separated fields)."""
    out = []
    for w in records:
        elapsed = int(w.ts * 1000) % 900 + 1
        ua = UA_PHONE if "iPhone" in w.device or "Galaxy" in w.device else UA_PC
        if w.blocked:
            msg, what = _e2g_block(w)
            code, size, cat, weight = 403, 0, w.cat or "banned", 0
        else:
            msg, what, code, size, cat, weight = 0, "", 200, w.size, "", 0
        out.append(f"{w.ts:.3f}\t\t{w.user}\t{w.ip}\t{w.device or '-'}\t{w.url}\t{w.method}\t"
                   f"{code}\t{size}\t{w.mime}\t{ua}\t-\t{elapsed}\t-\t{msg}\t{what}\t{weight}\t"
                   f"{cat}\t{w.group}\t{GROUPS.get(w.group, 1)}\n")
    return "".join(out)


def squidguard(records: Iterable[Web]) -> str:
    """The block log: only redirected (blocked) requests, in the proxy's local time."""
    out = []
    for w in records:
        if not w.blocked:
            continue
        when = local(w.ts).strftime("%Y-%m-%d %H:%M:%S")
        pid = 7000 + int(w.ts) % 900
        fqdn = w.device or "-"
        out.append(f"{when} [{pid}] Request({w.group}/{w.cat or 'blocked'}/-) {w.url} "
                   f"{w.ip}/{fqdn} {w.user} {w.method} REDIRECT\n")
    return "".join(out)


def fortigate(records: Iterable[Web]) -> str:
    """FortiOS 7 web-filter logs (`type="utm" subtype="webfilter"`), full URLs, local time."""
    out = []
    for n, w in enumerate(records):
        t = local(w.ts)
        offset = t.strftime("%z")
        catdesc, cat = FORTIGUARD.get(w.cat, FORTIGUARD[""])
        host = host_of(w.url)
        if w.blocked:
            head = 'logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" ' \
                   'level="warning"'
            action, msg = "blocked", "URL belongs to a denied category in policy"
        else:
            head = 'logid="0316013057" type="utm" subtype="webfilter" eventtype="ftgd_allow" ' \
                   'level="notice"'
            action, msg = "passthrough", "URL belongs to an allowed category in policy"
        user = f' user="{w.user}" group="{w.group}"' if w.user != "-" else ""
        sent = 400 + w.size % 300
        out.append(
            f'date={t:%Y-%m-%d} time={t:%H:%M:%S} eventtime={int(w.ts * 1000)}000000 '
            f'tz="{offset}" {head} vd="root" policyid=3 sessionid={100000 + n} '
            f'srcip={w.ip} srcport={49152 + int(w.ts * 1000) % 16000} srcintf="internal" '
            f'srcintfrole="lan" dstip={dst_ip(host)} dstport=443 dstintf="wan1" '
            f'dstintfrole="wan" proto=6 service="HTTPS" hostname="{host}" '
            f'profile="school-{w.group}" action="{action}" reqtype="direct" url="{w.url}" '
            f'sentbyte={sent} rcvdbyte={0 if w.blocked else w.size} direction="outgoing" '
            f'msg="{msg}" method="domain" cat={cat} catdesc="{catdesc}"{user}\n')
    return "".join(out)


def _terms(url: str) -> str:
    if "q=" not in url:
        return ""
    values = parse_qs(urlsplit(url).query).get("q")
    return values[0] if values else ""


def filter_csv(records: Iterable[Web]) -> str:
    """The documented CSV: time, username, source_ip, group, code, url, categories, ..."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time", "username", "source_ip", "group", "code", "url", "categories",
                     "search_terms", "log_level"])
    for w in records:
        writer.writerow([utc_iso_ms(w.ts), "" if w.user == "-" else w.user, w.ip, w.group,
                         403 if w.blocked else 200, w.url, w.cat, _terms(w.url),
                         "warning" if w.blocked else "info"])
    return buf.getvalue()
