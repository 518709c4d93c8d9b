"""Egress policies as a teacher writes them, and the rules they become (pure: no engine, no firewall)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbfleet.errors import NbfleetError
from nbfleet.servers.walls.networks import network_name
from nbfleet.servers.walls.rules import Network, Pass, bridge_name, prefix, restore_text
from nbfleet.settings import parse as parse_settings
from nbfleet.settings.egress import from_text, parse


@pytest.mark.parametrize(("value", "says"), [
    ("10.0.0.0/33:80", "'10.0.0.0/33' in '10.0.0.0/33:80' is not an IPv4 network"),
    ("public:http", "'http' in 'public:http' is not a port list"),
    ("public:0", "port '0' in 'public:0' is out of range"),
    ("public:9-3", "port '9-3' in 'public:9-3' is out of range"),
    ("10.1.0.0/16", "is not \"CIDR:PORTS\""),
    ("169.254.169.254/32:80", "reaches the metadata range 169.254.0.0/16"),
])
def test_a_bad_entry_is_one_line_naming_the_key(value, says):
    with pytest.raises(NbfleetError) as err:
        parse(["public:443", value], "course.toml: launch.egress")
    assert str(err.value).startswith("course.toml: launch.egress[1]: ") and says in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_words_and_empty_lists_are_refused(tmp_path):
    for value in ("closed", [], 3):
        with pytest.raises(NbfleetError, match=r"launch\.egress"):
            parse(value, "course.toml: launch.egress")
    with pytest.raises(NbfleetError, match=r"^course\.toml: workshop\.egress\[0\]: "):
        parse_settings({"workshop": {"egress": ["public:web"]}}, tmp_path / "course.toml")


def test_settings_defaults_internet_for_a_class_and_web_only_for_a_workshop(tmp_path):
    s = parse_settings({}, tmp_path / "course.toml")
    assert s.launch.egress.text == "internet" and s.workshop.egress.text == "public:80 public:443"
    s = parse_settings({"launch": {"egress": ["10.20.0.0/16:5432", "public:443,8000-8100"]}}, tmp_path / "course.toml")
    assert s.launch.egress.text == "10.20.0.0/16:5432 public:443,8000-8100"


@given(st.lists(st.tuples(st.sampled_from(["public", "10.20.0.0/16", "192.168.1.0/24"]),
                          st.lists(st.integers(1, 65535), min_size=1, max_size=20)), min_size=1, max_size=4))
def test_the_canonical_text_reads_back_as_the_same_policy(entries):
    policy = parse([f"{to}:{','.join(map(str, ports))}" for to, ports in entries], "egress")
    assert from_text(policy.text) == policy
    text, chains = restore_text("NBF-TEST", [Network("c-net-1", "nbf1", policy)])
    for line in text.splitlines():  # iptables takes at most 15 ports in one multiport match
        if "--dports" in line:
            assert sum(2 if ":" in p else 1 for p in line.split("--dports ")[1].split()[0].split(",")) <= 15


def test_rules_say_what_each_policy_allows():
    def rules(value, inside=()):
        return restore_text("NBF-X", [Network("c-net-1", "nbfbr", parse(value, "egress"), inside)])[0]

    for value in ("internet", "open", "none", ["public:443"]):
        text = rules(value)
        assert "-A NBF-X-" in text and "--ctstate RELATED,ESTABLISHED -j RETURN" in text  # replies to the student's browser
        assert " -o nbfbr -j REJECT" in text and "-d 169.254.0.0/16 -j REJECT" in text  # no neighbour, no metadata
        assert text.count("--dport 53 -j RETURN") == (0 if value == "none" else 4)  # DNS whenever anything goes out
    assert "-d 10.0.0.0/8 -j REJECT" in rules("internet") and "-d 10.0.0.0/8" not in rules("open")
    assert rules("none").splitlines()[-4].endswith("-j REJECT --reject-with icmp-admin-prohibited")
    hub = rules(["public:443"], (Pass("10.9.0.2", "", ()),))
    assert hub.index("-s 10.9.0.2 -o nbfbr -j ACCEPT") < hub.index("-o nbfbr -j REJECT")


def test_names_fit_linux_and_iptables_and_differ_per_engine_and_course():
    assert len(bridge_name("engine 1 /var/lib/docker", "mbd-net-0123abcd")) <= 15
    assert bridge_name("e1", "n") != bridge_name("e2", "n") and prefix("e1", "c") != prefix("e1", "d")
    text, chains = restore_text(prefix("e", "c"), [Network("mbd-net-0123abcd", "nbfx", parse(["public:1"], "k"))])
    assert all(len(c) <= 28 for c in chains)
    assert network_name("mbd", parse("internet", "k")) != network_name("mbd", parse("none", "k"))
