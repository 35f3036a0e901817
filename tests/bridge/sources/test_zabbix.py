"""bridge.sources.zabbix: the JSON config/zabbix/slabridge.js posts."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.alert import AlertStatus, ParseError
from bridge.sources import zabbix

from ._support import (
    fixture_names,
    load,
)

EXPECTED: dict[str, tuple[str, AlertStatus]] = {
    "v1-problem.json": ("184412", AlertStatus.FIRING),
    "v1-update-ack.json": ("184412", AlertStatus.ACKNOWLEDGED),
    # the recovery event has its own id (184530); identity stays the problem's
    "v1-recovery.json": ("184412", AlertStatus.RESOLVED),
    "v1-internal-no-trigger.json": ("190001", AlertStatus.FIRING),
}
BROKEN = {
    "broken-event-value-string.json": "event_value: expected an integer",
    "broken-recovery-without-time.json": "recovery_time: field required",
    "broken-local-event-time.json": "event_time: not an RFC 3339 timestamp",
    "broken-version-2.json": "version: unsupported version '2', expected '1'",
    "broken-unexpanded-macro.json": "event_id: expected a numeric id",
    "broken-severity-out-of-range.json": "severity: unsupported severity 7, "
    "expected one of 0, 1, 2, 3, 4, 5",
}


def test_every_fixture_file_has_an_expectation() -> None:
    assert set(fixture_names("zabbix")) == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_recorded_messages(name: str) -> None:
    payload = load("zabbix", name)
    (alert,) = zabbix.parse(payload)
    assert (alert.identity, alert.status) == EXPECTED[name]
    assert alert.source == "zabbix"
    assert alert.raw == payload


def test_a_problem_maps_host_tags_and_severity() -> None:
    (alert,) = zabbix.parse(load("zabbix", "v1-problem.json"))
    assert alert.title == "Unavailable by ICMP ping"
    assert alert.severity == "high"
    assert alert.description.startswith("Last three attempts returned timeout.")
    assert alert.labels == {
        "customer": "acme",
        "scope": "availability",
        "component": "network,health",  # a tag given twice keeps both values
        "host": "acme-fw-01",
        "host_ip": "127.0.20.5",
        "trigger_id": "23687",
    }
    assert alert.annotations == {
        "event_opdata": "Down (0)",
        "zabbix_url": "http://127.0.0.1:8080/zabbix",
        "event_ack": "no",
    }
    assert alert.starts_at == datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)
    assert alert.ends_at is None


def test_a_recovery_carries_its_end_and_an_update_its_action() -> None:
    (recovery,) = zabbix.parse(load("zabbix", "v1-recovery.json"))
    assert recovery.ends_at == datetime(2026, 3, 3, 8, 31, 40, tzinfo=UTC)
    (update,) = zabbix.parse(load("zabbix", "v1-update-ack.json"))
    assert update.annotations["update_action"] == "acknowledged"
    assert update.annotations["update_user"] == "Alice Example"
    assert update.annotations["update_time"] == "2026-03-03T08:16:40+00:00"
    assert update.annotations["event_ack"] == "yes"


def test_an_internal_event_needs_no_trigger_id() -> None:
    (alert,) = zabbix.parse(load("zabbix", "v1-internal-no-trigger.json"))
    assert alert.severity == "not_classified"
    assert alert.labels == {"host": "sw-core-01"}


def test_built_in_labels_win_over_same_named_tags() -> None:
    payload = dict(load("zabbix", "v1-problem.json"), tags=[{"tag": "host", "value": "spoof"}])
    (alert,) = zabbix.parse(payload)
    assert alert.labels["host"] == "acme-fw-01"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"event_id": None}, "event_id: field required"),
        ({"event_id": 184412}, "event_id: expected a string"),
        ({"event_value": 2}, "event_value: unsupported event_value 2, expected one of 0, 1"),
        ({"event_value": True}, "event_value: expected an integer"),
        (
            {"event_update_status": 3},
            "event_update_status: unsupported event_update_status 3, expected one of 0, 1",
        ),
        ({"event_source": 1}, "event_source: unsupported event_source 1, expected one of 0, 3"),
        ({"trigger_id": None}, "trigger_id: field required"),
        ({"trigger_name": " "}, "trigger_name: must not be empty"),
        ({"host_name": None}, "host_name: field required"),
        ({"event_ack": "No"}, "event_ack: expected true or false"),
        ({"tags": {"customer": "acme"}}, "tags: expected an array"),
        ({"tags": [{"value": "acme"}]}, "tags[0].tag: field required"),
        ({"tags": [{"tag": "customer", "value": 1}]}, "tags[0].value: expected a string"),
        ({"update_time": "08:16:40"}, "update_time: not an RFC 3339 timestamp"),
    ],
)
def test_it_names_the_first_bad_field(changes: dict, message: str) -> None:
    payload = load("zabbix", "v1-problem.json")
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    with pytest.raises(ParseError) as caught:
        zabbix.parse(payload)
    assert str(caught.value) == message


# --- the media type script itself, run under Node.js with Zabbix's HttpRequest faked ---------

SCRIPT = Path(__file__).resolve().parents[3] / "config" / "zabbix" / "slabridge.js"
# Zabbix runs the script as a function body with `value` bound; HttpRequest records the POST.
HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const params = JSON.parse(fs.readFileSync(0, 'utf8'));
const sent = [];
function HttpRequest() { this.headers = []; }
HttpRequest.prototype.addHeader = function (h) { this.headers.push(h); };
HttpRequest.prototype.post = function (url, data) {
  sent.push({url: url, headers: this.headers, body: JSON.parse(data)});
  return 'answer';
};
HttpRequest.prototype.getStatus = function () { return params.__status || 200; };
const Zabbix = {log: function () {}};
let result = null, error = null;
try {
  result = new Function('value', 'HttpRequest', 'Zabbix', script)(
    JSON.stringify(params), HttpRequest, Zabbix);
} catch (e) { error = String(e); }
process.stdout.write(JSON.stringify({result: result, error: error, sent: sent}));
"""
NODE = shutil.which("node")
PARAMS = {
    "slabridge_url": "http://127.0.0.1:8080/webhooks/zabbix",
    "slabridge_token": "alice-token",
    "event_id": "184412",
    "event_value": "1",
    "event_update_status": "0",
    "event_ack": "No",
    "event_source": "0",
    "event_name": "Unavailable by ICMP ping",
    "event_timestamp": "1772525645",
    "event_opdata": "Down (0)",
    "event_tags": '[{"tag":"customer","value":"acme"}]',
    "event_nseverity": "4",
    "trigger_id": "23687",
    "trigger_name": "Unavailable by ICMP ping",
    "trigger_description": "",
    "host_name": "acme-fw-01",
    "host_visible_name": "ACME firewall 01",
    "host_ip": "127.0.20.5",
    # in a problem message the recovery and update macros stay unexpanded
    "recovery_event_id": "{EVENT.RECOVERY.ID}",
    "recovery_timestamp": "{EVENT.RECOVERY.TIMESTAMP}",
    "update_timestamp": "{EVENT.UPDATE.TIMESTAMP}",
    "update_action": "{EVENT.UPDATE.ACTION}",
    "update_message": "{EVENT.UPDATE.MESSAGE}",
    "update_user": "{USER.FULLNAME}",
    "zabbix_url": "{$ZABBIX.URL}",
}


def run_script(tmp_path: Path, **changes: str | int) -> dict:
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    completed = subprocess.run(
        [NODE or "node", str(harness), str(SCRIPT)],
        input=json.dumps({**PARAMS, **changes}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(completed.stdout)


def _require_node() -> None:
    # Never a skip: scripts/install-system-deps installs nodejs where it is missing.
    assert NODE is not None, "Node.js is needed to run the Zabbix media-type script (apt nodejs)"


needs_node = pytest.mark.usefixtures("node_present")


@pytest.fixture
def node_present() -> None:
    _require_node()


@needs_node
@pytest.mark.parametrize(
    ("changes", "status", "ends_at"),
    [
        ({}, AlertStatus.FIRING, None),
        (
            {
                "event_update_status": "1",
                "event_ack": "Yes",
                "update_timestamp": "1772525800",
                "update_action": "acknowledged",
                "update_user": "Alice Example",
            },
            AlertStatus.ACKNOWLEDGED,
            None,
        ),
        (
            {"event_value": "0", "recovery_event_id": "184530", "recovery_timestamp": "1772526700"},
            AlertStatus.RESOLVED,
            datetime(2026, 3, 3, 8, 31, 40, tzinfo=UTC),
        ),
    ],
)
def test_what_the_media_type_script_posts_parses(
    tmp_path: Path, changes: dict, status: AlertStatus, ends_at: datetime | None
) -> None:
    out = run_script(tmp_path, **changes)
    assert out["error"] is None and out["result"] == "OK"
    (request,) = out["sent"]
    assert request["url"] == PARAMS["slabridge_url"]
    assert "Authorization: Bearer alice-token" in request["headers"]
    (alert,) = zabbix.parse(request["body"])
    assert (alert.identity, alert.status, alert.ends_at) == ("184412", status, ends_at)
    assert alert.starts_at == datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)
    assert alert.labels["customer"] == "acme"
    assert "update_user" not in request["body"] or status is AlertStatus.ACKNOWLEDGED


@needs_node
@pytest.mark.parametrize(
    ("changes", "fragment", "posted"),
    [
        ({"__status": 503}, "slabridge answered HTTP 503", True),
        ({"slabridge_url": "ftp://127.0.0.1/x"}, "must be an http:// or https:// URL", False),
        ({"slabridge_token": ""}, 'parameter "slabridge_token" is empty', False),
        ({"event_id": "{EVENT.ID}"}, 'parameter "event_id" is empty or an unexpanded macro', False),
        ({"event_value": "0"}, 'parameter "recovery_timestamp" is empty', False),
        ({"event_tags": "customer:acme"}, "must be {EVENT.TAGSJSON}", False),
    ],
)
def test_the_media_type_script_throws_so_zabbix_retries(
    tmp_path: Path, changes: dict, fragment: str, posted: bool
) -> None:
    out = run_script(tmp_path, **changes)
    assert out["error"] is not None and fragment in out["error"]
    assert bool(out["sent"]) is posted
