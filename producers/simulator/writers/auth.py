"""Sign-in logs: Winlogbeat (Windows Security), Samba AD DC audit, Google Reports, Entra."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from producers.simulator.model import Auth
from producers.simulator.writers import local, utc_iso_ms

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_WIN = {
    "ok": ("4624", "logged-in", "authentication", "start", "success", "Logon",
           "An account was successfully logged on."),
    "fail": ("4625", "logon-failed", "authentication", "start", "failure", "Logon",
             "An account failed to log on."),
    "logoff": ("4634", "logged-out", "session", "end", "success", "Logoff",
               "An account was logged off."),
    "lockout": ("4740", "locked-out-user-account", "iam", "change", "success",
                "User Account Management", "A user account was locked out."),
}
_SUB = {"bad-password": "0xc000006a", "no-such-user": "0xc0000064"}


def _logon_id(a: Auth) -> str:
    return f"0x{zlib.crc32(f'{a.account}|{a.device}|{a.ip}'.encode()):x}"


def winlogbeat(records: Iterable[Auth], domain: str) -> str:
    """Raw-collection Winlogbeat 8 documents: 4624/4625/4740 from the domain controller
    (network logons carry the workstation and its address), 4634 from the workstation."""
    netbios = domain.split(".")[0].upper()
    dc = f"DC01.{domain}"
    out = []
    for n, a in enumerate(records, 1):
        code, action, cat, typ, outcome, task, message = _WIN[a.kind]
        data: dict[str, Any] = {"TargetUserName": a.account, "TargetDomainName": netbios}
        computer = dc
        if a.kind in ("ok", "fail"):
            data.update({"LogonType": "3", "LogonProcessName": "Kerberos",
                         "AuthenticationPackageName": "Kerberos",
                         "WorkstationName": a.device or "-", "IpAddress": a.ip or "-",
                         "IpPort": str(49152 + int(a.ts) % 16000)})
            if a.kind == "ok":
                data["TargetLogonId"] = _logon_id(a)
            else:
                data.update({"Status": "0xc000006d", "SubStatus": _SUB[a.reason],
                             "FailureReason": "%%2313"})
        elif a.kind == "logoff":
            data.update({"TargetLogonId": _logon_id(a), "LogonType": "3"})
            computer = f"{a.device}.{domain}"
        else:  # 4740: TargetDomainName is the caller computer
            data["TargetDomainName"] = a.device or "-"
        doc = {"@timestamp": utc_iso_ms(a.ts),
               "agent": {"type": "winlogbeat", "version": "8.11.1"},
               "event": {"action": action, "category": [cat], "code": code, "kind": "event",
                         "outcome": outcome, "provider": "Microsoft-Windows-Security-Auditing",
                         "type": [typ]},
               "host": {"name": computer},
               "log": {"level": "information"},
               "message": message,
               "winlog": {"channel": "Security", "computer_name": computer, "event_id": code,
                          "record_id": 5_000_000 + n, "task": task,
                          "keywords": ["Audit Failure" if a.kind == "fail" else "Audit Success"],
                          "provider_name": "Microsoft-Windows-Security-Auditing",
                          "event_data": data}}
        out.append(_dumps(doc) + "\n")
    return "".join(out)


_NT = {"ok": "NT_STATUS_OK", "bad-password": "NT_STATUS_WRONG_PASSWORD",
       "no-such-user": "NT_STATUS_NO_SUCH_USER", "lockout": "NT_STATUS_ACCOUNT_LOCKED_OUT"}


def samba(records: Iterable[Auth], domain: str) -> str:
    """log.samba with `auth_json_audit:3`: a debug header line, then the JSON line.
    Samba audits authentications only: logoffs are not in this log."""
    netbios = domain.split(".")[0].upper()
    out = []
    for a in records:
        if a.kind == "logoff":
            continue
        status = _NT["ok"] if a.kind == "ok" else _NT["lockout" if a.kind == "lockout"
                                                      else a.reason]
        t = local(a.ts)
        us = round(a.ts * 1_000_000) % 1_000_000
        stamp = f"{t:%Y-%m-%dT%H:%M:%S}.{us:06d}{t:%z}"
        body = {"timestamp": stamp, "type": "Authentication",
                "Authentication": {
                    "version": {"major": 1, "minor": 2},
                    "eventId": 4624 if a.kind == "ok" else 4625, "logonId": "0",
                    "logonType": 3, "status": status,
                    "localAddress": "ipv4:10.30.0.2:445",
                    "remoteAddress": f"ipv4:{a.ip}:{49152 + int(a.ts) % 16000}",
                    "serviceDescription": "Kerberos KDC",
                    "authDescription": "ENC-TS Pre-authentication",
                    "clientDomain": netbios, "clientAccount": a.account,
                    "workstation": a.device or None, "becameAccount": a.account if a.kind == "ok"
                    else None, "becameDomain": netbios if a.kind == "ok" else None,
                    "becameSid": None, "mappedAccount": a.account, "mappedDomain": netbios,
                    "netlogonComputer": None, "netlogonTrustAccount": None,
                    "netlogonNegotiateFlags": "0x00000000", "netlogonSecureChannelType": 0,
                    "netlogonTrustAccountSid": None, "passwordType": "aes256-cts-hmac-sha1-96",
                    "duration": 4000 + int(a.ts) % 9000}}
        out.append(f"[{t:%Y/%m/%d %H:%M:%S}.{us:06d},  3] ../../auth/auth_log.c:635"
                   f"(log_authentication_event_json)\n")
        out.append("  JSON Authentication: " + _dumps(body) + "\n")
    return "".join(out)


def google(records: Iterable[Auth], customer: str = "C03az79cb") -> str:
    """Reports API `activities.list?applicationName=login` items, one activity per line."""
    out = []
    for n, a in enumerate(records, 1):
        if a.kind == "ok":
            ev = {"type": "login", "name": "login_success",
                  "parameters": [{"name": "login_type", "value": "google_password"},
                                 {"name": "is_suspicious", "boolValue": False}]}
        elif a.kind == "fail":
            ev = {"type": "login", "name": "login_failure",
                  "parameters": [{"name": "login_type", "value": "google_password"},
                                 {"name": "login_failure_type",
                                  "value": "login_failure_invalid_password"},
                                 {"name": "is_suspicious", "boolValue": False}]}
        else:
            continue
        item = {"kind": "admin#reports#activity",
                "id": {"time": utc_iso_ms(a.ts), "uniqueQualifier": str(-(10**17) - n * 7919),
                       "applicationName": "login", "customerId": customer},
                "etag": f"\"s{zlib.crc32(str(n).encode()):08x}\"",
                "actor": {"email": a.account, "profileId": str(10**20 + zlib.crc32(
                    a.account.encode()))},
                "ipAddress": a.ip, "events": [ev]}
        out.append(_dumps(item) + "\n")
    return "".join(out)


_APPS = {"mail": ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
         "sims": ("5f3a8c2e-1b7d-4e55-9c1a-2d6b8e4f7a10", "SIMS"),
         "portal": ("00000006-0000-0ff1-ce00-000000000000", "Microsoft Office 365 Portal")}


def _guid(text: str) -> str:
    h = f"{zlib.crc32(text.encode()):08x}{zlib.crc32(text[::-1].encode()):08x}"
    h = (h * 2)[:32]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def entra(records: Iterable[Auth], tenant: str = "8c3f9a51-2e44-4b7b-9d0e-5a1f3c6b2d7e") -> str:
    """Diagnostic-setting export (`PT1H.json`): one SignInLogs record per line."""
    out = []
    for n, a in enumerate(records, 1):
        if a.kind not in ("ok", "fail"):
            continue
        app_id, app = _APPS[a.app]
        when = datetime.fromtimestamp(int(a.ts), UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
            f".{int(a.ts * 1e7) % 10_000_000:07d}Z"
        ok = a.kind == "ok"
        if a.mobile:
            device = {"deviceId": "", "displayName": "", "operatingSystem":
                      "Ios" if a.mobile == "ios" else "Android", "browser": "Mobile Safari",
                      "isCompliant": False, "isManaged": False, "trustType": ""}
            client = "Mobile Apps and Desktop clients"
        elif a.device:
            device = {"deviceId": _guid(a.device), "displayName": a.device,
                      "operatingSystem": "Windows10", "browser": "Edge 120.0.0",
                      "isCompliant": True, "isManaged": True,
                      "trustType": "Hybrid Azure AD joined"}
            client = "Browser"
        else:
            device = {"deviceId": "", "displayName": "", "operatingSystem": "Windows10",
                      "browser": "Chrome 120.0.0", "isCompliant": False, "isManaged": False,
                      "trustType": ""}
            client = "Browser"
        sid = _guid(f"{a.account}{a.ts}{n}")
        status: dict[str, Any] = {"errorCode": 0} if ok else {
            "errorCode": 50126, "failureReason": "Error validating credentials due to invalid "
                                                 "username or password."}
        rec = {"time": when, "resourceId": f"/tenants/{tenant}/providers/Microsoft.aadiam",
               "operationName": "Sign-in activity", "operationVersion": "1.0",
               "category": "SignInLogs", "tenantId": tenant,
               "resultType": "0" if ok else "50126",
               "resultSignature": "None", "durationMs": 0, "callerIpAddress": a.ip,
               "correlationId": _guid(sid), "identity": a.account.split("@")[0],
               "Level": 4, "location": "GB",
               "properties": {"id": sid, "createdDateTime": when,
                              "userDisplayName": a.account.split("@")[0],
                              "userPrincipalName": a.account,
                              "userId": _guid(a.account), "appId": app_id,
                              "appDisplayName": app, "ipAddress": a.ip,
                              "status": status, "clientAppUsed": client,
                              "deviceDetail": device, "isInteractive": True,
                              "conditionalAccessStatus": "notApplied",
                              "location": {"city": "Bath", "state": "Somerset",
                                           "countryOrRegion": "GB"}}}
        out.append(_dumps(rec) + "\n")
    return "".join(out)
