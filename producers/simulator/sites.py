"""Web sites the simulated school visits, with the UT1 category a filter would give them.

Background sites carry no category the policy cares about. Scenario sites use the shipped
category lists where a well-known name exists, and invented `.example` names otherwise;
the invented ones are written to the school's `categories/` folder, so every filter format
(with or without categories in its lines) classifies them the same way.
"""

from __future__ import annotations

EDUCATION = (
    "https://www.bbc.co.uk/bitesize/subjects/z826n39", "https://www.bbc.co.uk/bitesize/topics",
    "https://en.wikipedia.org/wiki/Photosynthesis", "https://en.wikipedia.org/wiki/Roman_Britain",
    "https://www.oxfordowl.co.uk/for-school/reading", "https://www.mathsisfun.com/fractions.html",
    "https://scratch.mit.edu/projects/editor/", "https://www.nationalgeographic.com/animals",
    "https://www.timestables.co.uk/", "https://classroom.google.com/u/0/h",
    "https://www.purplemash.com/sch/", "https://www.britannica.com/science/volcano",
    "https://www.topmarks.co.uk/maths-games/7-11-years", "https://www.spellingshed.com/en-gb/",
    "https://ttrockstars.com/play", "https://www.literacyshed.com/home.html",
    "https://kids.nationalgeographic.com/science", "https://www.natgeokids.com/uk/",
    "https://www.dkfindout.com/uk/animals-and-nature/", "https://code.org/student/elementary",
)
EDUCATION_SEARCHES = (
    "photosynthesis for kids", "roman soldiers armour", "volcano diagram", "times tables 7",
    "fractions games", "rainforest animals", "tudor houses", "water cycle", "anglo saxons",
    "solar system planets", "how do magnets work", "victorian schools", "life cycle of a frog",
    "persuasive writing examples", "rivers of the uk", "french numbers 1 to 20",
)
INFANT = (
    "https://www.cbeebies.com/", "https://www.phonicsplay.co.uk/", "https://www.topmarks.co.uk/",
    "https://www.oxfordowl.co.uk/for-home/", "https://www.numberblocks.tv/",
    "https://www.bbc.co.uk/cbeebies/games", "https://www.starfall.com/h/",
)
STAFF = (
    "https://www.gov.uk/government/organisations/department-for-education",
    "https://www.tes.com/teaching-resources", "https://www.bbc.co.uk/news",
    "https://www.theguardian.com/education", "https://www.twinkl.co.uk/resources",
    "https://www.nspcc.org.uk/keeping-children-safe/", "https://www.ncetm.org.uk/",
    "https://www.gov.uk/guidance/school-attendance", "https://educationendowmentfoundation.org.uk/",
    "https://www.oak.org.uk/", "https://www.bbc.co.uk/teach",
)
MIS_HOST = "www.sims.co.uk"  # a real MIS vendor's host, as a school's filter would log it
MIS_URLS = (f"https://{MIS_HOST}/SIMS/Attendance/Register", f"https://{MIS_HOST}/SIMS/Home",
            f"https://{MIS_HOST}/SIMS/Pupil/Details", f"https://{MIS_HOST}/SIMS/Assessment")
SCHOOL_MAIL = ("https://outlook.office.com/mail/", "https://outlook.office.com/calendar/")
# leisure a member of staff may browse a little (limited personal use at Beaudesert)
LEISURE = (
    "https://www.amazon.co.uk/gp/cart/view.html", "https://www.ebay.co.uk/sch/i.html",
    "https://www.skysports.com/football", "https://www.bbc.co.uk/sport/football",
    "https://www.rightmove.co.uk/property-for-sale.html", "https://www.asos.com/women/",
    "https://www.johnlewis.com/", "https://www.tripadvisor.co.uk/Hotels",
)
LEISURE_CATEGORIES = {"amazon.co.uk": "shopping", "ebay.co.uk": "shopping",
                      "asos.com": "shopping", "johnlewis.com": "shopping",
                      "rightmove.co.uk": "shopping", "tripadvisor.co.uk": "leisure",
                      "skysports.com": "sports"}
# boarders' evening browsing: harmless, uncategorised
EVENING = (
    "https://www.youtube.com/watch?v=", "https://www.nasa.gov/kids", "https://www.bbc.co.uk/cbbc",
    "https://www.lego.com/en-gb/kids", "https://www.nationalgeographic.com/animals",
    "https://www.bbc.co.uk/sport", "https://www.met.ie/weather",
)

# scenario sites: url -> UT1 category (also the label e2guardian/squidGuard/CSV logs carry)
PROXY = ("https://www.croxyproxy.com/", "https://www.hidemyass.com/proxy",
         "https://www.proxysite.com/", "https://www.kproxy.com/")
VPN = ("https://nordvpn.com/download/", "https://psiphon.ca/en/download.html",
       "https://windscribe.com/download")
DOWNLOAD = ("https://www.softonic.com/download/setup.exe",
            "https://filehippo.com/download_installer.msi",
            "https://download.cnet.com/files/game_setup.exe")
WAREZ = ("https://thepiratebay.org/search.php?q=film", "https://1337x.to/torrent/1234/",
         "https://yts.mx/movies/")
ADULT = ("https://www.xxx-videos.example/", "https://www.adult-cams.example/live")
HATE = ("https://www.hate-forum.example/thread/88",)
CHAT = ("https://discord.com/channels/@me", "https://talk-to-strangers.example/chat",
        "https://web.whatsapp.com/")
SOCIAL = ("https://www.instagram.com/explore/", "https://www.tiktok.com/foryou",
          "https://www.facebook.com/", "https://www.snapchat.com/web")
FILEHOSTING = ("https://wetransfer.com/upload", "https://www.dropbox.com/home",
               "https://mega.nz/fm")
PERSONAL_WEBMAIL = ("https://mail.yahoo.com/d/folders/1", "https://outlook.live.com/mail/0/",
                    "https://www.gmx.com/mail/")
GAMBLING = ("https://www.lucky-spins-casino.example/slots", "https://www.bet365.com/")

INVENTED = {  # written to the school's categories/ folder (UT1 name -> domains)
    "adult": ("xxx-videos.example", "adult-cams.example"),
    "agressif": ("hate-forum.example",),
    "chat": ("talk-to-strangers.example",),
    "gambling": ("lucky-spins-casino.example",),
    "shopping": ("amazon.co.uk", "ebay.co.uk", "asos.com", "johnlewis.com", "rightmove.co.uk"),
    "sports": ("skysports.com",),
    "leisure": ("tripadvisor.co.uk",),
}

CATEGORY_OF = {
    **dict.fromkeys(PROXY, "redirector"), **dict.fromkeys(VPN, "vpn"),
    **dict.fromkeys(DOWNLOAD, "download"), **dict.fromkeys(WAREZ, "warez"),
    **dict.fromkeys(ADULT, "adult"), **dict.fromkeys(HATE, "agressif"),
    **dict.fromkeys(CHAT, "chat"), **dict.fromkeys(SOCIAL, "social_networks"),
    **dict.fromkeys(FILEHOSTING, "filehosting"), **dict.fromkeys(PERSONAL_WEBMAIL, "webmail"),
    **dict.fromkeys(GAMBLING, "gambling"),
}
# FortiGuard names (catdesc, cat number) for the UT1 categories used here
FORTIGUARD = {
    "redirector": ("Proxy Avoidance", 59), "vpn": ("Proxy Avoidance", 59),
    "download": ("Freeware and Software Downloads", 71), "warez": ("Peer-to-peer File Sharing", 24),
    "adult": ("Pornography", 20), "agressif": ("Extremist Groups", 83),
    "chat": ("Instant Messaging", 23), "social_networks": ("Social Networking", 37),
    "filehosting": ("File Sharing and Storage", 75), "webmail": ("Web-based Email", 40),
    "gambling": ("Gambling", 19), "shopping": ("Shopping", 52), "sports": ("Sports", 42),
    "leisure": ("Travel", 64), "": ("Education", 34),
}


def category(url: str) -> str:
    """The UT1 category of a scenario or leisure URL, "" for everything else."""
    cat = CATEGORY_OF.get(url)
    if cat is not None:
        return cat
    host = url.split("/", 3)[2] if "://" in url else url
    host = host.removeprefix("www.")
    return LEISURE_CATEGORIES.get(host, "")


def search_url(engine: str, phrase: str) -> str:
    from urllib.parse import quote_plus

    q = quote_plus(phrase)
    if engine == "bing":
        return f"https://www.bing.com/search?q={q}&form=QBLH"
    return f"https://www.google.co.uk/search?q={q}&hl=en-GB"

HACKING = ("https://hackforums.net/forumdisplay.php?fid=47", "https://www.exploit-db.com/")
CATEGORY_OF.update(dict.fromkeys(HACKING, "hacking"))
FORTIGUARD["hacking"] = ("Hacking", 15)
