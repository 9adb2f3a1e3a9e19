# ruff: noqa: E501  (real records are long)
"""Login-event parsers: Winlogbeat, Samba auth audit, Entra sign-ins, Google Workspace login.

Fixtures follow the shapes of real output (people are synthetic): Winlogbeat documents as in
elastic/beats x-pack/winlogbeat/module/security/test/testdata (collection and ingest forms),
Samba lines as lib/audit_logging/audit_logging.c and auth/auth_log.c print them, Entra records
as in elastic/integrations packages/azure/data_stream/signinlogs/_dev/test/pipeline, and
Reports API pages as in the Admin SDK activities.list reference.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.auth_common import clean_ip, samba_address, timestamp
from producers.entra_signin import parse_entra_signin
from producers.google_workspace import parse_google_document, parse_google_login
from producers.parsing import MAX_LINE_CHARS, ParseContext, Parser, ParseResult
from producers.samba_audit import json_part, parse_samba_audit
from producers.winlogbeat import parse_winlogbeat

NOW = datetime(2026, 11, 22, tzinfo=UTC)
CTX = ParseContext(school_id="s", source="x.log", now=NOW)


def run(parser: Parser, lines: list[str]) -> ParseResult:
    return parser(enumerate(lines, 1), CTX)


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


# ---------------------------------------------------------------- Winlogbeat
def _winlog(event_id: str | int, data: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"api": "wineventlog", "channel": "Security", "computer_name": "dc1.school.lan",
            "event_data": data, "event_id": event_id, "keywords": ["Audit Success"],
            "opcode": "Info", "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "provider_name": "Microsoft-Windows-Security-Auditing", "record_id": "1542",
            "task": "Logon", **extra}


# 8.x security-module (ingest) form: IpAddress/WorkstationName moved to source.*, user.name set.
WLB_4624_INGEST = {
    "@timestamp": "2026-11-21T08:40:12.7868321Z", "ecs": {"version": "1.12.0"},
    "event": {"action": "logged-in", "category": ["authentication"], "code": "4624",
              "kind": "event", "module": "security", "outcome": "success",
              "provider": "Microsoft-Windows-Security-Auditing", "type": ["start"]},
    "host": {"name": "dc1.school.lan"}, "log": {"level": "information"},
    "message": "An account was successfully logged on.\n\nSubject:\n\tSecurity ID:\t\tS-1-5-18\n...",
    "related": {"ip": ["10.0.1.27"], "user": ["pupil1", "DC1$"]},
    "source": {"domain": "ICT-PC07", "ip": "10.0.1.27", "port": 49832},
    "user": {"domain": "SCHOOL", "id": "S-1-5-21-3541430928-2051711210-1391384369-1105", "name": "pupil1"},
    "winlog": _winlog("4624", {
        "AuthenticationPackageName": "Negotiate", "ImpersonationLevel": "%%1833", "KeyLength": "0",
        "LmPackageName": "-", "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "LogonProcessName": "User32 ", "LogonType": "3", "SubjectDomainName": "SCHOOL",
        "SubjectLogonId": "0x3e7", "SubjectUserName": "DC1$", "SubjectUserSid": "S-1-5-18",
        "TargetDomainName": "SCHOOL", "TargetLogonId": "0x1008e", "TargetUserName": "pupil1",
        "TargetUserSid": "S-1-5-21-3541430928-2051711210-1391384369-1105", "TransmittedServices": "-"},
        logon={"id": "0x3e7", "type": "Network"}),
}
# Raw collection form (no security module): everything stays in event_data.
WLB_4625_RAW = {
    "@timestamp": "2026-11-21T08:41:03.1200000Z",
    "event": {"action": "Logon", "code": "4625", "kind": "event", "outcome": "failure",
              "provider": "Microsoft-Windows-Security-Auditing"},
    "host": {"name": "dc1.school.lan"}, "log": {"level": "information"},
    "message": "An account failed to log on.",
    "winlog": _winlog("4625", {
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "DC1$", "SubjectDomainName": "SCHOOL",
        "SubjectLogonId": "0x3e7", "TargetUserSid": "S-1-0-0", "TargetUserName": "pupil2",
        "TargetDomainName": "SCHOOL", "Status": "0xc000006d", "FailureReason": "%%2313",
        "SubStatus": "0xc000006a", "LogonType": "3", "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM", "WorkstationName": "LAPTOP-12",
        "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0", "ProcessId": "0x0",
        "ProcessName": "-", "IpAddress": "10.0.1.31", "IpPort": "50432"}, keywords=["Audit Failure"]),
}
# 7.x form: numeric codes.
WLB_4634 = {
    "@timestamp": "2026-11-21T09:30:00.000Z",
    "event": {"action": "logged-out", "code": 4634, "kind": "event", "outcome": "success"},
    "winlog": _winlog(4634, {"TargetUserSid": "S-1-5-21-1-2-3-1105", "TargetUserName": "pupil1",
                             "TargetDomainName": "SCHOOL", "TargetLogonId": "0x1008e",
                             "LogonType": "3"}, task="Logoff", computer_name="ICT-PC07"),
}
# Ingest form of 4740 (user.name is the DC that locked; the locked account is the target).
WLB_4740 = {
    "@timestamp": "2026-11-21T08:45:43.0856521Z",
    "event": {"action": "locked-out-user-account", "category": ["iam"], "code": "4740",
              "kind": "event", "module": "security", "outcome": "success", "type": ["user", "change"]},
    "host": {"name": "DC1"}, "message": "A user account was locked out.",
    "user": {"domain": "SCHOOL", "id": "S-1-5-18", "name": "DC1$",
             "target": {"domain": "LAPTOP-12", "id": "S-1-5-21-1-2-3-1106", "name": "pupil2"}},
    "winlog": _winlog("4740", {"SubjectDomainName": "SCHOOL", "SubjectLogonId": "0x3e7",
                               "SubjectUserName": "DC1$", "SubjectUserSid": "S-1-5-18",
                               "TargetDomainName": "LAPTOP-12", "TargetSid": "S-1-5-21-1-2-3-1106",
                               "TargetUserName": "pupil2"}, task="User Account Management"),
}


def _variant(doc: dict[str, Any], **data: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    copy["winlog"]["event_data"].update(data)
    return copy


WLB_MACHINE_V6 = _variant(WLB_4625_RAW, TargetUserName="LAPTOP-12$", IpAddress="fe80::1c2d:3e4f:5a6b:7c8d", SubStatus="0x0")
WLB_CONSOLE = _variant(WLB_4625_RAW, IpAddress="::1", WorkstationName="-", TargetUserName="-")
WINLOGBEAT = [dumps(d) for d in (WLB_4624_INGEST, WLB_4625_RAW, WLB_4634, WLB_4740, WLB_MACHINE_V6, WLB_CONSOLE)]


def test_winlogbeat_real_shapes_map_to_auth_events() -> None:
    r = run(parse_winlogbeat, WINLOGBEAT)
    assert r.dead_letters == []
    ok, fail, out, lock, machine, console = r.events
    assert (ok.category, ok.type, ok.action, ok.outcome) == ("authentication", "start", "logged-in", "success")
    assert ok.timestamp == datetime(2026, 11, 21, 8, 40, 12, 786832, tzinfo=UTC)
    assert (ok.user_name, ok.source_ip, ok.host_name) == ("pupil1", "10.0.1.27", "ICT-PC07")
    assert ok.labels["logon_type"] == "3" and ok.labels["logon_type_name"] == "Network"
    assert (fail.outcome, fail.action, fail.user_name) == ("failure", "logon-failed", "pupil2")
    assert fail.reason == "0xc000006a: wrong password"
    assert (fail.source_ip, fail.host_name) == ("10.0.1.31", "LAPTOP-12")
    assert fail.labels["status"] == "0xc000006d" and fail.labels["sub_status"] == "0xc000006a"
    assert (out.category, out.type, out.action, out.host_name) == ("session", "end", "logged-out", "ICT-PC07")
    assert (lock.category, lock.action, lock.outcome) == ("iam", "locked-out-user-account", "success")
    assert lock.user_name == "pupil2" and lock.labels["locked_out"] == "true"
    assert lock.host_name == "LAPTOP-12"
    assert machine.user_name == "LAPTOP-12$" and machine.labels["machine_account"] == "true"
    assert machine.source_ip == "fe80::1c2d:3e4f:5a6b:7c8d"
    assert machine.reason == "0xc000006d: bad user name or password"  # SubStatus 0x0 -> Status
    assert (console.source_ip, console.user_name, console.host_name) == (None, None, "dc1.school.lan")
    assert all(e.raw and e.dataset == "winlogbeat.security" for e in r.events)


def test_winlogbeat_unsupported_and_malformed_are_dead_letters() -> None:
    other = json.loads(json.dumps(WLB_4624_INGEST))
    other["event"]["code"] = "4672"
    no_ts = json.loads(json.dumps(WLB_4624_INGEST))
    del no_ts["@timestamp"]
    future = json.loads(json.dumps(WLB_4624_INGEST))
    future["@timestamp"] = "2031-01-01T00:00:00Z"
    lines = [dumps(other), "{not json", "[1, 2]", "", dumps({"event": {}}), dumps(no_ts),
             dumps(future), "x" * (MAX_LINE_CHARS + 1)]
    r = run(parse_winlogbeat, lines)
    assert r.events == []
    reasons = [d.reason for d in r.dead_letters]
    assert reasons[0] == "unsupported event code 4672"
    assert reasons[1].startswith("invalid JSON")
    assert reasons[2] == "expected a JSON object, found list"
    assert "no event.code" in reasons[3]
    assert "missing" in reasons[4] and "future" in reasons[5] and "longer than" in reasons[6]
    assert [d.line_no for d in r.dead_letters] == [1, 2, 3, 5, 6, 7, 8]


# ---------------------------------------------------------------- Samba
def _samba_auth(ts: str, status: str, event_id: int, **fields: Any) -> str:
    body = {"version": {"major": 1, "minor": 2}, "eventId": event_id, "logonId": "0",
            "logonType": 3, "status": status, "localAddress": "ipv4:127.0.0.1:445",
            "remoteAddress": "ipv4:10.0.1.31:53210", "serviceDescription": "SMB2",
            "authDescription": None, "clientDomain": "SCHOOL", "clientAccount": "pupil1",
            "workstation": "LAPTOP-12", "becameAccount": None, "becameDomain": None,
            "becameSid": None, "mappedAccount": "pupil1", "mappedDomain": "SCHOOL",
            "netlogonComputer": None, "netlogonTrustAccount": None,
            "netlogonNegotiateFlags": "0x00000000", "netlogonSecureChannelType": 0,
            "netlogonTrustAccountSid": None, "passwordType": "NTLMv2", "duration": 4567}
    body.update(fields)
    # jansson json_dumps(flags 0) separators: ", " and ": "
    return json.dumps({"timestamp": ts, "type": "Authentication", "Authentication": body})


HEADER = "[2026/11/21 18:20:08.123456,  3] ../../lib/audit_logging/audit_logging.c:141(audit_log_json)"
HEADER_PID = "[2026/11/21 18:20:09.000001,  3, pid=4242, effective(0, 0), real(0, 0), class=auth_json_audit] ../../lib/audit_logging/audit_logging.c:141(audit_log_json)"
AUTHZ = json.dumps({"timestamp": "2026-11-21T18:20:08.300000+0000", "type": "Authorization", "Authorization": {
    "version": {"major": 1, "minor": 1}, "localAddress": "ipv4:127.0.0.1:445",
    "remoteAddress": "ipv4:10.0.1.31:53210", "serviceDescription": "SMB2", "authType": "NTLMSSP",
    "domain": "SCHOOL", "account": "pupil1", "sid": "S-1-5-21-1-2-3-1105",
    "sessionId": "3f1c5a7e-0d3b-4a8e-9f2a-6b4d2c1e0f99", "logonServer": "DC1",
    "transportProtection": "SMB", "accountFlags": "0x00000010"}})
SAMBA = [
    HEADER,
    "  JSON Authentication: " + _samba_auth("2026-11-21T18:20:08.123456+0000", "NT_STATUS_WRONG_PASSWORD", 4625),
    HEADER,
    "  JSON Authentication: " + _samba_auth("2026-11-21T18:20:08.223456+0000", "NT_STATUS_OK", 4624, becameAccount="pupil1"),
    HEADER_PID,
    "  JSON Authorization: " + AUTHZ,
    "  samba version 4.19.5-Debian started.",
    _samba_auth("2026-11-21T19:20:09.000001+0100", "NT_STATUS_NO_SUCH_USER", 4625, clientAccount="nobody9",
                remoteAddress="ipv6:fd00::17:50432", workstation=None, serviceDescription="Kerberos KDC",
                authDescription="ENC-TS Pre-authentication", passwordType=None),
    "Nov 21 18:20:10 dc1 samba[4242]:   JSON Authentication: " + _samba_auth(
        "2026-11-21T18:20:10.000000+0000", "NT_STATUS_ACCOUNT_LOCKED_OUT", 4625, clientAccount="LAPTOP-12$",
        remoteAddress="ipv6:::ffff:10.0.1.32:445"),
]


def test_samba_real_lines_skip_headers_and_map_statuses() -> None:
    r = run(parse_samba_audit, SAMBA)
    assert r.dead_letters == []
    wrong, ok, authz, nouser, locked = r.events
    assert wrong.timestamp == datetime(2026, 11, 21, 18, 20, 8, 123456, tzinfo=UTC)
    assert (wrong.outcome, wrong.reason, wrong.action) == ("failure", "NT_STATUS_WRONG_PASSWORD", "logon-failed")
    assert (wrong.user_name, wrong.source_ip, wrong.host_name) == ("pupil1", "10.0.1.31", "LAPTOP-12")
    assert wrong.labels["service"] == "SMB2" and wrong.labels["password_type"] == "NTLMv2"  # noqa: S105
    assert (ok.outcome, ok.reason, ok.category, ok.labels["event_code"]) == ("success", None, "authentication", "4624")
    assert (authz.category, authz.type, authz.action, authz.user_name) == ("session", "start", "authorized", "pupil1")
    assert authz.labels["session_id"].startswith("3f1c5a7e")
    assert nouser.timestamp == datetime(2026, 11, 21, 18, 20, 9, 1, tzinfo=UTC)  # +0100 offset
    assert (nouser.source_ip, nouser.host_name, nouser.reason) == ("fd00::17", None, "NT_STATUS_NO_SUCH_USER")
    assert locked.labels["locked_out"] == "true" and locked.labels["machine_account"] == "true"
    assert locked.source_ip == "10.0.1.32"
    assert r.records_in == 5  # headers and other debug text are not records


def test_samba_malformed_json_and_other_types_are_dead_letters() -> None:
    dsdb = json.dumps({"timestamp": "2026-11-21T18:20:08.123456+0000", "type": "dsdbChange",
                       "dsdbChange": {"operation": "Modify"}})
    no_status = _samba_auth("2026-11-21T18:20:08.123456+0000", "", 4625)
    bad_ts = _samba_auth("21/11/2026 18:20", "NT_STATUS_OK", 4624)
    lines = [HEADER, "  JSON Authentication: {\"timestamp\": \"2026-11-21T18:", "  JSON dsdbChange: " + dsdb,
             "{\"type\": \"Authentication\", \"Authentication\": 3}", no_status, bad_ts, "[]", ""]
    r = run(parse_samba_audit, lines)
    assert r.events == []
    reasons = [d.reason for d in r.dead_letters]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "unsupported audit type 'dsdbChange'"
    assert reasons[2] == "no Authentication object"
    assert "no status" in reasons[3] and "ISO 8601" in reasons[4]
    assert len(reasons) == 5  # "[]" is not an audit line, header and blank are skipped


def test_address_and_timestamp_helpers() -> None:
    assert samba_address("ipv4:127.0.0.11:445") is None  # loopback
    assert samba_address("ipv4:10.0.0.7:53210") == "10.0.0.7"
    assert samba_address("ipv6:fe80::1:445") == "fe80::1"
    assert samba_address("ipv6:[2001:db8::5]:445") == "2001:db8::5"
    assert samba_address("unix:/run/samba/ncalrpc/np") is None and samba_address(None) is None
    assert clean_ip("-") is None and clean_ip("::1") is None and clean_ip("127.0.0.1") is None
    assert clean_ip("::ffff:10.1.2.3") == "10.1.2.3" and clean_ip("10.1.2.3:5000") == "10.1.2.3"
    assert clean_ip("fe80::1%eth0") == "fe80::1" and clean_ip("laptop") is None
    z = datetime(2026, 11, 21, 18, 20, 8, tzinfo=UTC)
    for text_ in ("2026-11-21T18:20:08Z", "2026-11-21T18:20:08+0000", "2026-11-21T19:20:08+01:00",
                  "2026-11-21T18:20:08.000000000Z", "11/21/2026 6:20:08 PM"):
        assert timestamp(text_, assume_utc=True) == z, text_
    assert isinstance(timestamp("2026-11-21T18:20:08"), str)  # naive is refused by default
    assert isinstance(timestamp(12), str) and isinstance(timestamp("soon"), str)


# ---------------------------------------------------------------- Entra
def _entra(error: int, upn: str, **props: Any) -> dict[str, Any]:
    properties = {
        "appDisplayName": "Office 365 Exchange Online", "appId": "00000002-0000-0ff1-ce00-000000000000",
        "clientAppUsed": "Browser", "conditionalAccessStatus": "notApplied",
        "correlationId": "8a4de8b5-095c-47d0-a96f-a75130c61d53",
        "createdDateTime": "2026-11-21T08:45:48.0729893+00:00",
        "deviceDetail": {"browser": "Chrome 130.0.0", "deviceId": "", "displayName": "", "isCompliant": False,
                         "isManaged": False, "operatingSystem": "Ios", "trustType": ""},
        "id": "5c1a0e1f-3b7d-4f2a-9e6c-0a1b2c3d4e5f", "ipAddress": "81.2.69.144", "isInteractive": True,
        "location": {"city": "Bath", "countryOrRegion": "GB", "geoCoordinates": {"latitude": 51.38, "longitude": -2.36}, "state": "Bath"},
        "originalRequestId": "8a4de8b5-095c-47d0-a96f-a75130c61d53", "processingTimeInMilliseconds": 239,
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "status": {"errorCode": error} if error == 0 else {"errorCode": error, "failureReason": "Invalid username or password or Invalid on-premise username or password."},
        "tokenIssuerType": "AzureAD", "userDisplayName": "Teacher One", "userId": "1d2c3b4a-0000-4000-8000-000000000001",
        "userPrincipalName": upn,
    }
    properties.update(props)
    return {"Level": "4", "callerIpAddress": "81.2.69.144", "category": "SignInLogs",
            "correlationId": "8a4de8b5-095c-47d0-a96f-a75130c61d53", "durationMs": 0, "identity": "Teacher One",
            "location": "GB", "operationName": "Sign-in activity", "operationVersion": "1.0",
            "properties": properties, "resourceId": "/tenants/4f6e5d4c-0000-4000-8000-00000000aaaa/providers/Microsoft.aadiam",
            "resultDescription": "" if error == 0 else "Invalid username or password or Invalid on-premise username or password.",
            "resultSignature": "None", "resultType": str(error), "tenantId": "4f6e5d4c-0000-4000-8000-00000000aaaa",
            "time": "2026-11-21T08:45:48.0729893Z"}


ENTRA_OK = _entra(0, "teacher1@school.example", deviceDetail={
    "deviceId": "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc", "displayName": "STAFF-LT-04", "isCompliant": True,
    "isManaged": True, "operatingSystem": "Windows10", "browser": "Edge 130.0.0", "trustType": "Azure AD joined"})
ENTRA_FAIL = _entra(50126, "pupil3@school.example", id="7d7d7d7d-0000-4000-8000-000000000002",
                    ipAddress="2a02:c7c:1234::9", clientAppUsed="Exchange ActiveSync",
                    createdDateTime="2026-11-21T03:45:48.0729893-05:00")
ENTRA_NODEVICE = _entra(0, "teacher2@school.example", id="7d7d7d7d-0000-4000-8000-000000000003")
del ENTRA_NODEVICE["properties"]["deviceDetail"]
ENTRA_NODEVICE["properties"]["createdDateTime"] = None
ENTRA_NODEVICE["time"] = "11/21/2026 8:45:48 AM"
ENTRA = [dumps(ENTRA_OK), dumps(ENTRA_FAIL), dumps({"records": [ENTRA_NODEVICE, {"category": "AuditLogs", "properties": {}}]})]


def test_entra_records_and_batches() -> None:
    r = run(parse_entra_signin, ENTRA)
    ok, fail, nodevice = r.events
    assert (ok.outcome, ok.action, ok.user_name, ok.host_name) == ("success", "logged-in", "teacher1@school.example", "STAFF-LT-04")
    assert ok.timestamp == datetime(2026, 11, 21, 8, 45, 48, 72989, tzinfo=UTC)
    assert ok.labels["managed"] == "true" and ok.labels["compliant"] == "true" and ok.labels["interactive"] == "true"
    assert ok.labels["client_app"] == "Browser" and ok.labels["app"] == "Office 365 Exchange Online"
    assert (fail.outcome, fail.source_ip) == ("failure", "2a02:c7c:1234::9")
    assert fail.reason == "errorCode 50126: Invalid username or password or Invalid on-premise username or password."
    assert fail.timestamp == ok.timestamp and fail.host_name is None  # -05:00 offset; empty device id
    assert fail.labels["client_app"] == "Exchange ActiveSync" and fail.labels["os"] == "Ios"
    assert nodevice.host_name is None and nodevice.timestamp == datetime(2026, 11, 21, 8, 45, 48, tzinfo=UTC)
    [audit] = r.dead_letters
    assert audit.reason == "unsupported category 'AuditLogs'" and audit.line_no == 3
    assert nodevice.raw.startswith("{") and "teacher2" in nodevice.raw


def test_entra_same_sign_in_from_storage_and_event_hub_is_one_event() -> None:
    a = run(parse_entra_signin, [dumps(ENTRA_OK)]).events
    b = run(parse_entra_signin, [dumps({"records": [ENTRA_OK]})]).events
    assert [e.event_id for e in a] == [e.event_id for e in b]


def test_entra_malformed_are_dead_letters() -> None:
    no_props = dict(ENTRA_OK, properties="x")
    no_code = json.loads(dumps(ENTRA_OK))
    del no_code["properties"]["status"], no_code["resultType"]
    lines = ["{", dumps(no_props), dumps(no_code), dumps({"records": "x"}), dumps({"records": []}), " "]
    r = run(parse_entra_signin, lines)
    assert r.events == []
    reasons = [d.reason for d in r.dead_letters]
    assert reasons[0].startswith("invalid JSON") and "no properties" in reasons[1]
    assert "errorCode" in reasons[2] and "not a list" in reasons[3] and len(reasons) == 4


# ---------------------------------------------------------------- Google Workspace
def _item(time: str, qualifier: str, email: str, ip: str, *events: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "admin#reports#activity",
            "id": {"time": time, "uniqueQualifier": qualifier, "applicationName": "login", "customerId": "C03az79cb"},
            "etag": "\"JDMC8884sebSctZ17CIssbQ/abc\"", "actor": {"callerType": "USER", "email": email, "profileId": "100000000000000000001"},
            "ipAddress": ip, "events": list(events)}


def _ev(name: str, *params: dict[str, Any], type_: str = "login") -> dict[str, Any]:
    return {"type": type_, "name": name, "parameters": list(params)}


LOGIN_TYPE = {"name": "login_type", "value": "google_password"}
NOT_SUSPICIOUS = {"name": "is_suspicious", "boolValue": False}
PAGE = {"kind": "admin#reports#activities", "etag": "\"JDMC8884sebSctZ17CIssbQ/page\"", "items": [
    _item("2026-11-21T08:30:01.123Z", "-3148163466744532155", "pupil1@school.example", "10.0.1.27",
          _ev("login_challenge", LOGIN_TYPE, {"name": "login_challenge_method", "multiValue": ["password"]},
              {"name": "login_challenge_status", "value": "Challenge Passed"}),
          _ev("login_success", LOGIN_TYPE, {"name": "login_challenge_method", "multiValue": ["password"]}, NOT_SUSPICIOUS)),
    _item("2026-11-21T08:29:40Z", "6581839239871234567", "pupil2@school.example", "2001:db8:5::7",
          _ev("login_failure", LOGIN_TYPE, {"name": "login_failure_type", "value": "login_failure_invalid_password"}, NOT_SUSPICIOUS)),
    _item("2026-11-21T15:10:00.000Z", "-1", "pupil1@school.example", "10.0.1.27", _ev("logout", LOGIN_TYPE)),
    _item("2026-11-21T07:00:00.000Z", "42", "teacher1@school.example", "203.0.113.9",
          _ev("suspicious_login", LOGIN_TYPE, {"name": "is_suspicious", "boolValue": True})),
], "nextPageToken": "A:1795285208000000:-3148163466744532155:151219070090:C03az79cb"}


def test_google_page_gives_one_event_per_activity_event() -> None:
    r = run(parse_google_login, [dumps(PAGE)])
    assert r.dead_letters == []
    challenge, ok, fail, out, sus = r.events
    assert (challenge.category, challenge.action, challenge.outcome) == ("authentication", "login_challenge", "success")
    assert challenge.labels["challenge_method"] == "password"
    assert (ok.action, ok.outcome, ok.user_name, ok.source_ip) == ("logged-in", "success", "pupil1@school.example", "10.0.1.27")
    assert ok.timestamp == datetime(2026, 11, 21, 8, 30, 1, 123000, tzinfo=UTC) and "suspicious" not in ok.labels
    assert (fail.outcome, fail.reason, fail.source_ip) == ("failure", "login_failure_invalid_password", "2001:db8:5::7")
    assert (out.category, out.type, out.action) == ("session", "end", "logged-out")
    assert sus.labels["suspicious"] == "true" and sus.action == "suspicious_login"
    assert len({e.event_id for e in r.events}) == 5


def test_google_ndjson_of_items_and_whole_pretty_document_agree() -> None:
    by_item = run(parse_google_login, [dumps(i) for i in PAGE["items"]])
    whole = parse_google_document(json.dumps(PAGE, indent=2), CTX)
    assert [e.event_id for e in by_item.events] == [e.event_id for e in whole.events]
    assert len(whole.events) == 5 and whole.dead_letters == []
    ndjson = parse_google_document(dumps(PAGE) + "\n\n" + dumps(PAGE["items"][0]) + "\n", CTX)
    assert len(ndjson.events) == 7
    assert parse_google_document("", CTX).records_in == 0
    assert parse_google_document("[1]", CTX).dead_letters[0].reason == "expected a JSON object, found int"


def test_google_malformed_are_dead_letters() -> None:
    drive = _item("2026-11-21T08:30:01Z", "9", "pupil1@school.example", "10.0.1.27", _ev("view"))
    drive["id"]["applicationName"] = "drive"
    no_time = _item("", "9", "pupil1@school.example", "10.0.1.27", _ev("login_success"))
    nameless = _item("2026-11-21T08:30:01Z", "9", "pupil1@school.example", "-", {"type": "login"}, _ev("logout"))
    empty_page = {"kind": "admin#reports#activities", "etag": "\"x\""}
    lines = [dumps(drive), dumps(no_time), dumps(nameless), dumps(empty_page), dumps({"hello": 1}), "[]"]
    r = run(parse_google_login, lines)
    reasons = [d.reason for d in r.dead_letters]
    assert reasons[0] == "unsupported application 'drive'" and "timestamp" in reasons[1]
    assert reasons[2] == "event 0 has no name" and "not a Reports API" in reasons[3]
    assert reasons[4] == "expected a JSON object, found list"
    [logout] = r.events
    assert logout.source_ip is None


# ---------------------------------------------------------------- all formats
FORMATS: list[tuple[Parser, list[str]]] = [
    (parse_winlogbeat, WINLOGBEAT), (parse_samba_audit, SAMBA),
    (parse_entra_signin, ENTRA), (parse_google_login, [dumps(PAGE)]),
]


def test_same_input_twice_gives_the_same_ids() -> None:
    for parser, lines in FORMATS:
        a, b = run(parser, lines), run(parser, lines)
        assert [e.event_id for e in a.events] == [e.event_id for e in b.events]
        assert len({e.event_id for e in a.events}) == len(a.events)
        assert [d.dead_letter_id for d in a.dead_letters] == [d.dead_letter_id for d in b.dead_letters]


def _expected_records(parser: Parser, lines: list[str]) -> int:
    if parser is parse_samba_audit:
        return sum(1 for line in lines
                   if json_part(line.rstrip("\r\n")) is not None or len(line.rstrip("\r\n")) > MAX_LINE_CHARS)
    return sum(1 for line in lines if line.strip())


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([p for p, _ in FORMATS]), st.lists(st.text(max_size=300), max_size=15))
def test_arbitrary_text_never_raises_and_counts_balance(parser: Parser, lines: list[str]) -> None:
    r = run(parser, lines)
    assert r.records_in == _expected_records(parser, lines)
    assert all(d.reason and d.stage == "parse" and d.source == "x.log" for d in r.dead_letters)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["@timestamp", "event", "code", "winlog", "event_data", "type", "Authentication",
                         "timestamp", "status", "records", "properties", "items", "events", "id", "time",
                         "name", "parameters", "category", "x"]), kids, max_size=5),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([p for p, _ in FORMATS]), JSON)
def test_arbitrary_json_never_raises(parser: Parser, value: Any) -> None:
    r = run(parser, [json.dumps(value)])
    assert all(d.reason for d in r.dead_letters)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([(p, line) for p, lines in FORMATS for line in lines]),
       st.integers(min_value=0, max_value=3000), st.text(max_size=8))
def test_mutated_real_lines_never_raise(case: tuple[Parser, str], pos: int, insert: str) -> None:
    parser, line = case
    pos = min(pos, len(line))
    mutated = line[:pos] + insert + line[pos + len(insert):]
    r = run(parser, [mutated])
    for d in r.dead_letters:
        assert d.reason and d.line_no == 1
    if parser in (parse_winlogbeat,):
        assert r.records_in == (1 if mutated.strip() else 0)
