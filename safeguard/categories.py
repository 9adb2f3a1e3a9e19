"""Filter categories: UT1/squidGuard blacklist names and other filters' labels -> ours.

A domain list in the squidGuard/e2guardian layout (one folder per category holding
`domains` and `urls`) is parsed from text into a `CategoryIndex`; the product ships
lists and a school's `categories/` folder extends them. A category a log line already
carries (e2guardian, squidGuard, FortiGate, CSV) is mapped with the same table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# UT1 (Toulouse) names, and the labels other filters use, to the product's categories.
# Names not listed pass through normalised, so a school can add categories of its own.
CATEGORY_ALIASES: Mapping[str, str] = {
    # UT1 blacklist names
    "adult": "adult", "mixed_adult": "adult", "lingerie": "adult",
    "agressif": "hate", "dangerous_material": "weapons", "sect": "extremism",
    "chat": "chat", "dating": "dating", "drogue": "drugs",
    "filehosting": "filehosting", "gambling": "gambling", "arjel": "gambling",
    "games": "games", "hacking": "hacking", "ddos": "hacking",
    "malware": "malware", "cryptojacking": "malware", "stalkerware": "malware",
    "phishing": "phishing",
    "redirector": "proxy", "strict_redirector": "proxy", "strong_redirector": "proxy",
    "doh": "proxy", "remote-control": "remote-access", "remote_control": "remote-access",
    "social_networks": "social-networking", "vpn": "vpn", "warez": "piracy",
    "webmail": "webmail", "download": "software-download", "tricheur": "cheating",
    "shortener": "shortener", "translation": "translation", "audio-video": "streaming",
    # labels seen in commercial filters' exports (FortiGate catdesc, Smoothwall, ...)
    "proxy_avoidance": "proxy", "web_proxies": "proxy", "anonymizers": "proxy",
    "anonymisers": "proxy", "proxies": "proxy", "proxy": "proxy",
    "vpns": "vpn", "vpn_services": "vpn",
    "pornography": "adult", "nudity_and_risque": "adult", "adult_content": "adult",
    "adult_materials": "adult", "pornography_and_nudity": "adult",
    "violence": "violence", "extremist_groups": "extremism", "extremism": "extremism",
    "radicalisation": "extremism", "hate": "hate", "discrimination": "hate",
    "weapons": "weapons", "drug_abuse": "drugs", "drugs": "drugs",
    "illegal": "illegal", "illegal_or_unethical": "illegal", "child_abuse": "illegal",
    "gambling_sites": "gambling", "peer_to_peer_file_sharing": "piracy",
    "piracy": "piracy", "piracy_and_copyright_infringement": "piracy",
    "social_networking": "social-networking", "social_media": "social-networking",
    "instant_messaging": "chat", "chat_and_messaging": "chat", "web_chat": "chat",
    "web_based_email": "webmail", "web_email": "webmail",
    "file_sharing_and_storage": "filehosting", "online_storage": "filehosting",
    "malicious_websites": "malware", "hacking_sites": "hacking",
    "self_harm": "self-harm", "suicide": "self-harm",
    "executables": "software-download", "software_downloads": "software-download",
}

_NORMALISE = re.compile(r"[^a-z0-9]+")


def normalise_category(label: str) -> str:
    """A filter's category label to the product's category name."""
    key = _NORMALISE.sub("_", label.strip().lower()).strip("_")
    return CATEGORY_ALIASES.get(key, key.replace("_", "-"))


def parse_list(text: str) -> list[str]:
    """Entries of a blacklist `domains`/`urls` file: one per line, `#` comments, any case."""
    out = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            out.append(entry.lstrip("."))
    return out


def host_of(url: str) -> str | None:
    """The host of a logged URL, including Squid's `host:port` CONNECT form and bare hosts."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


@dataclass
class CategoryIndex:
    """Domain and URL-prefix lookups for filter categories; most specific suffix wins nothing,
    all matching categories are returned (a domain can be both `proxy` and `vpn`)."""

    domains: dict[str, frozenset[str]] = field(default_factory=dict)
    urls: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(self, raw_category: str, domains: Iterable[str] = (), urls: Iterable[str] = ()) -> None:
        """Add one blacklist folder's entries under its (mapped) category."""
        cat = normalise_category(raw_category)
        for d in domains:
            self.domains[d] = self.domains.get(d, frozenset()) | {cat}
        for u in urls:
            self.urls[u] = self.urls.get(u, frozenset()) | {cat}

    def __len__(self) -> int:
        return len(self.domains) + len(self.urls)

    def lookup(self, url: str) -> tuple[str, ...]:
        """Product categories of a URL: by its host and every parent domain, then URL prefixes."""
        host = host_of(url)
        if host is None:
            return ()
        found: set[str] = set()
        labels = host.split(".")
        for i in range(len(labels)):
            cats = self.domains.get(".".join(labels[i:]))
            if cats:
                found |= cats
        if self.urls:
            rest = url.split("://", 1)[-1].lower()
            rest = rest[4:] if rest.startswith("www.") else rest
            path_parts = rest.split("?", 1)[0].split("/")
            for j in range(len(path_parts), 1, -1):
                cats = self.urls.get("/".join(path_parts[:j]))
                if cats:
                    found |= cats
        return tuple(sorted(found))
