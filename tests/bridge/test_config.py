"""Bad configuration is reported as `FILE: path (line N): problem`, one line per problem, with
short stable messages. Each case edits config/example.yaml as text, so the line numbers are
the ones an operator would see in their editor.

`CASES` is shared with tests/bridge/test_cli.py, which runs the same files through the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bridge.config import ConfigError, load_config, parse_config
from bridge.config.models import Role
from tests.conftest import EXAMPLE_CONFIG, REPO

FIXTURES = REPO / "tests" / "fixtures" / "config"
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    id: str
    old: str  # a snippet of config/example.yaml (must occur exactly once) ...
    new: str  # ... and what it becomes
    expected: tuple[tuple[str, str, str], ...]  # (path, line marker, message) per problem

    def text(self) -> str:
        assert EXAMPLE.count(self.old) == 1, f"{self.id}: snippet not unique in the example"
        return EXAMPLE.replace(self.old, self.new)

    def lines(self, file: str) -> list[str]:
        text = self.text()
        out = []
        for path, marker, message in self.expected:
            assert text.count(marker) == 1, f"{self.id}: marker {marker!r} not unique"
            line = text[: text.index(marker)].count("\n") + 1
            where = f"{path} (line {line})" if path else f"line {line}"
            out.append(f"{file}: {where}: {message}")
        return out


CASES = [
    Case(
        "unknown-key",
        "  default_line: L1",
        "  default_lines: L1",
        (("service.default_lines", "default_lines", "unknown key"),),
    ),
    Case(
        "missing-required-key",
        "    contract: CZ-2026-0007\n",
        "",
        (("customers[1].contract", "id: brno-bank", "required key is missing"),),
    ),
    Case(
        "unknown-sla-policy",
        "    sla_policy: gold\n    internal: true",
        "    sla_policy: platinum\n    internal: true",
        (
            (
                "customers[2].sla_policy",
                "sla_policy: platinum",
                "unknown SLA policy 'platinum' (known: gold, silver)",
            ),
        ),
    ),
    Case(
        "unknown-calendar",
        "P3: {reaction: 2h, resolution: 2d, calendar: warsaw-office}",
        "P3: {reaction: 2h, resolution: 2d, calendar: lisbon-office}",
        (
            (
                "sla_policies.gold.priorities.P3.calendar",
                "lisbon-office",
                "unknown calendar 'lisbon-office' (known: always, prague-office, warsaw-office)",
            ),
        ),
    ),
    Case(
        "bad-duration",
        "verification_window: 24h",
        "verification_window: 24 hours",
        (
            (
                "customers[0].verification_window",
                "verification_window",
                "'24 hours' is not a duration such as 30s, 15m, 4h or 1d",
            ),
        ),
    ),
    Case(
        "zero-duration",
        "autoclose_interval: 60s",
        "autoclose_interval: 0s",
        (("service.autoclose_interval", "autoclose_interval", "a duration must be positive"),),
    ),
    Case(
        "bad-time-zone",
        "    timezone: Europe/Prague\n    sla_policy: silver",
        "    timezone: Europe/Brno\n    sla_policy: silver",
        (("customers[1].timezone", "Europe/Brno", "unknown time zone 'Europe/Brno'"),),
    ),
    Case(
        "bad-ip",
        "ip: 127.0.10.2",
        "ip: 127.0.10.256",
        (("devices[1].ip", "127.0.10.256", "'127.0.10.256' is not an IP address"),),
    ),
    Case(
        "duplicate-device-id",
        "  - id: acme-web",
        "  - id: acme-db",
        (("devices[2].id", "  - id: acme-db\n    customer: acme\n    ip: 127.0.10.3",
          "duplicate id 'acme-db'"),),
    ),
    Case(
        "duplicate-contract",
        "contract: INTERNAL-OPS",
        "contract: PL-2026-0042",
        (
            (
                "customers[2].contract",
                "contract: PL-2026-0042\n    timezone: Europe/Warsaw\n"
                "    sla_policy: gold\n    internal",
                "duplicate contract 'PL-2026-0042'",
            ),
        ),
    ),
    Case(
        "duplicate-token",
        "{name: bob, token: demo-engineer2-token,",
        "{name: bob, token: demo-engineer-token,",
        (("api_tokens[2].token", "{name: bob", "duplicate token 'demo-engineer-token'"),),
    ),
    Case(
        "depends-on-cycle",
        "    name: ACME edge router\n",
        "    name: ACME edge router\n    depends_on: acme-web\n",
        (
            (
                "devices[0].depends_on",
                "depends_on: acme-web",
                "dependency cycle: acme-edge -> acme-web -> acme-edge",
            ),
            (
                "devices[2].depends_on",
                "depends_on: acme-edge\n    probe:\n      icmp: {interval: 30s}\n  - id: brno-core",
                "dependency cycle: acme-web -> acme-edge -> acme-web",
            ),
        ),
    ),
    Case(
        "depends-on-itself",
        "    name: ACME edge router\n",
        "    name: ACME edge router\n    depends_on: acme-edge\n",
        (
            (
                "devices[0].depends_on",
                "    depends_on: acme-edge\n    tags: [router",
                "a device cannot depend on itself",
            ),
        ),
    ),
    Case(
        "depends-on-unknown-device",
        "depends_on: acme-edge           # behind",
        "depends_on: acme-gw           # behind",
        (("devices[1].depends_on", "acme-gw", "unknown device 'acme-gw'"),),
    ),
    Case(
        "device-of-unknown-customer",
        "  - id: brno-core\n    customer: brno-bank",
        "  - id: brno-core\n    customer: brno",
        (
            (
                "devices[3].customer",
                "customer: brno\n",
                "unknown customer 'brno' (known: acme, brno-bank, ops)",
            ),
        ),
    ),
    Case(
        "missing-env-var",
        "community: ${SLABRIDGE_SNMP_COMMUNITY:-public}",
        "community: ${SLABRIDGE_SNMP_COMMUNITY}",
        (
            (
                "devices[3].probe.snmp.community",
                "community:",
                "environment variable SLABRIDGE_SNMP_COMMUNITY is not set",
            ),
        ),
    ),
    Case(
        "unknown-source-type",
        "type: zabbix",
        "type: nagios",
        (
            (
                "sources[3].type",
                "type: nagios",
                "unknown webhook source type 'nagios' "
                "(known: alertmanager, generic, grafana, pagerduty, snmptrap, zabbix)",
            ),
        ),
    ),
    Case(
        "bad-yaml-syntax",
        "  default_line: L1",
        "  default_line: [L1",
        # YAML notices the unclosed bracket on the next line, and says so
        (("", "  ticket_prefix: INC", "not valid YAML: expected ',' or ']', but got '<scalar>'"),),
    ),
    Case(
        "customer-token-without-customer",
        "role: customer, customer: acme}",
        "role: customer}",
        (("api_tokens[4]", "{name: acme-portal", "a customer token must name its customer"),),
    ),
    Case(
        "staff-token-with-customer",
        "role: account_manager}",
        "role: account_manager, customer: acme}",
        (("api_tokens[3]", "{name: carol", "only a customer token is bound to a customer"),),
    ),
    Case(
        "maintenance-end-before-start",
        "end: 2026-10-04T02:00:00+02:00",
        "end: 2026-10-03T21:00:00+02:00",
        (("maintenance[0]", "  - device: acme-db", "end must be after start"),),
    ),
    Case(
        "maintenance-without-offset",
        "start: 2026-10-03T22:00:00+02:00",
        "start: 2026-10-03T22:00:00",
        (
            (
                "maintenance[0]",
                "  - device: acme-db",
                "start and end need a UTC offset, e.g. 2026-10-03T22:00:00+02:00",
            ),
        ),
    ),
    Case(
        "unknown-holiday-country",
        "holidays: {country: PL}",
        "holidays: {country: XX}",
        (
            (
                "calendars.warsaw-office.holidays",
                "{country: XX}",
                "the holidays package knows no country 'XX'",
            ),
        ),
    ),
    Case(
        "missing-priority-targets",
        "      P4: {reaction: 1d, resolution: 10d, calendar: prague-office}\n",
        "",
        (("sla_policies.silver.priorities", "P1: {reaction: 30m", "targets missing for P4"),),
    ),
    Case(
        "business-calendar-without-hours",
        "    hours:\n      mon-fri: [\"08:00-16:30\"]\n",
        "",
        (
            (
                "calendars.prague-office",
                "    type: business\n    timezone: Europe/Prague",
                "a business calendar needs hours, e.g. {mon-fri: ['08:00-17:00']}",
            ),
        ),
    ),
]
# The markers above that point at a key line rely on `Case.lines` finding them once; the
# missing-priority/business cases point at the mapping's first key, which is where YAML puts it.

ENV = {"PATH": "/usr/bin"}  # no SLABRIDGE_* variables


def test_the_example_is_valid() -> None:
    cfg = load_config(EXAMPLE_CONFIG, env=ENV)
    assert [c.id for c in cfg.customers] == ["acme", "brno-bank", "ops"]
    assert cfg.customer("acme").verification_window == 24 * 3600
    assert cfg.device("brno-core").probe.snmp.community == "public"  # the ${...:-default}
    assert {t.role for t in cfg.api_tokens} == set(Role)


def test_a_set_env_var_is_substituted() -> None:
    text = EXAMPLE.replace(
        "${SLABRIDGE_SNMP_COMMUNITY:-public}", "${SLABRIDGE_SNMP_COMMUNITY}"
    )
    cfg = parse_config(text, "x.yaml", env={"SLABRIDGE_SNMP_COMMUNITY": "s3cret"})
    assert cfg.device("brno-core").probe.snmp.community == "s3cret"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_bad_config_names_file_path_line_and_problem(case: Case) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(case.text(), "bad.yaml", env=ENV)
    assert info.value.lines() == case.lines("bad.yaml")
    assert str(info.value) == "\n".join(case.lines("bad.yaml"))


def test_every_problem_is_reported_in_one_pass() -> None:
    path = FIXTURES / "several-problems.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert info.value.lines() == [
        f"{path}: service.body_limt (line 3): unknown key",
        f"{path}: calendars.office.timezone (line 6): unknown time zone 'Mars/Olympus_Mons'",
        f"{path}: sla_policies.basic.priorities.P1.reaction (line 10): "
        "'soon' is not a duration such as 30s, 15m, 4h or 1d",
    ]


def test_the_minimal_config_is_valid_and_filled_with_defaults() -> None:
    cfg = load_config(FIXTURES / "minimal.yaml", env=ENV)
    assert cfg.service.ticket_prefix == "INC"
    assert cfg.service.body_limit == 1024 * 1024
    assert cfg.devices == [] and cfg.api_tokens == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- just\n- a list\n", "x.yaml: the top level must be a mapping of sections"),
        ("", "x.yaml: the top level must be a mapping of sections"),
    ],
)
def test_the_top_level_must_be_a_mapping(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.yaml", env=ENV)
    assert info.value.lines() == [line]


def test_an_unreadable_file(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.lines() == [f"{missing}: cannot read: No such file or directory"]
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("customers: [{name: Brněnská}]".encode("cp1250"))
    with pytest.raises(ConfigError) as info:
        load_config(latin)
    assert info.value.lines() == [f"{latin}: not UTF-8 text"]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("15m", 900.0), ("4h", 14400.0), ("1d", 86400.0),
     ("1h30m", 5400.0), ("1.5s", 1.5)],
)
def test_durations(make_config, value, seconds) -> None:
    cfg = make_config(lambda d: d["customers"][0].update(verification_window=value))
    assert cfg.customer("acme").verification_window == seconds


def test_make_config_variants_leave_the_example_alone(make_config, cfg) -> None:
    variant = make_config(lambda d: d["service"].update(ticket_prefix="SUP"))
    assert variant.service.ticket_prefix == "SUP"
    assert cfg.service.ticket_prefix == "INC"
