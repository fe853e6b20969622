"""The approval policy: which calls run, which ask, which never run."""

from __future__ import annotations

import pytest

from rung.config.mcp_file import Policy
from rung.tools.approvals import (
    ApprovalPolicy,
    ApprovalRequest,
    Taint,
    denied_message,
    exact_pattern,
    named_hosts,
    no_one_to_ask,
    parse_answer,
)

READ_ONLY = {"files": frozenset({"read_file", "list_dir"})}


@pytest.mark.parametrize(
    ("rules", "server", "tool", "expected"),
    [
        # no rule: built-in read-only tools run, everything else asks
        ({}, "files", "read_file", "allow"),
        ({}, "files", "write_file", "ask"),
        ({}, "notes", "read_file", "ask"),  # read-only is per server
        ({}, "notes", "search", "ask"),
        # a rule that matches decides
        ({"*": "allow"}, "notes", "search", "allow"),
        ({"notes:*": "deny"}, "notes", "search", "deny"),
        ({"notes:*": "deny"}, "web", "search", "ask"),
        ({"*:search": "allow"}, "web", "search", "allow"),
        ({"files:read_*": "ask"}, "files", "read_file", "ask"),  # a rule beats read-only
        # deny wins, however specific the other rules are
        ({"notes:search": "allow", "*": "deny"}, "notes", "search", "deny"),
        ({"notes:*": "allow", "notes:delete": "deny"}, "notes", "delete", "deny"),
        ({"notes:*": "allow", "notes:delete": "deny"}, "notes", "search", "allow"),
        ({"files:*": "deny"}, "files", "read_file", "deny"),
        # otherwise the most specific rule wins: exact names, then more literal text
        ({"*": "ask", "notes:*": "allow"}, "notes", "search", "allow"),
        ({"*": "allow", "notes:*": "ask"}, "notes", "search", "ask"),
        ({"notes:*": "allow", "notes:write_*": "ask"}, "notes", "write_note", "ask"),
        ({"notes:*": "allow", "notes:write_*": "ask"}, "notes", "read_note", "allow"),
        ({"notes:s*h": "ask", "notes:search": "allow"}, "notes", "search", "allow"),
        ({"notes:search*": "ask", "notes:search": "allow"}, "notes", "search", "allow"),
        ({"*:search": "allow", "notes:*": "ask"}, "notes", "search", "allow"),  # 7 > 6 letters
        # equally specific: the more careful one
        ({"notes:s*": "allow", "notes:*h": "ask"}, "notes", "search", "ask"),
        ({"notes:s*": "ask", "notes:*h": "allow"}, "notes", "search", "ask"),
    ],
)
def test_decide(rules: dict[str, Policy], server: str, tool: str, expected: Policy) -> None:
    assert ApprovalPolicy(rules=rules, read_only=READ_ONLY).decide(server, tool) == expected


@pytest.mark.parametrize(
    ("rules", "server_rules", "tool", "expected"),
    [
        ({}, {"*": "allow"}, "search", "allow"),
        ({}, {"delete": "deny"}, "delete", "deny"),
        ({}, {"*": "allow", "delete": "deny"}, "delete", "deny"),
        ({"*": "ask"}, {"*": "allow"}, "search", "allow"),  # notes:* beats *
        ({"notes:search": "ask"}, {"*": "allow"}, "search", "ask"),  # exact beats glob
        ({"notes:*": "allow"}, {"search": "ask"}, "search", "ask"),
        ({"notes:search": "allow"}, {"*": "deny"}, "search", "deny"),  # deny wins here too
    ],
)
def test_a_servers_own_rules_join_the_others(
    rules: dict[str, Policy], server_rules: dict[str, Policy], tool: str, expected: Policy
) -> None:
    policy = ApprovalPolicy(rules=rules, server_rules={"notes": server_rules})
    assert policy.decide("notes", tool) == expected
    assert policy.decide("web", tool) == ApprovalPolicy(rules=rules).decide("web", tool)


def test_always_ask_servers_ask_unless_denied() -> None:
    policy = ApprovalPolicy(
        rules={"*": "allow", "shell:rm": "deny"},
        read_only={"shell": frozenset({"pwd"})},
        always_ask=frozenset({"shell"}),
    )
    assert policy.decide("shell", "run") == "ask"
    assert policy.decide("shell", "pwd") == "ask"  # not even read-only tools skip it
    assert policy.decide("shell", "rm") == "deny"
    assert policy.decide("notes", "run") == "allow"
    policy.allow("shell", "run")
    assert policy.decide("shell", "run") == "ask"


def test_allow_adds_an_exact_rule_that_deny_still_beats() -> None:
    policy = ApprovalPolicy(rules={"notes:*": "ask", "notes:del*": "deny"})
    policy.allow("notes", "search")
    assert policy.rules["notes:search"] == "allow"
    assert policy.decide("notes", "search") == "allow"
    assert policy.decide("notes", "other") == "ask"
    policy.allow("notes", "delete")
    assert policy.decide("notes", "delete") == "deny"


async def test_no_one_to_ask_says_no() -> None:
    assert await no_one_to_ask(ApprovalRequest("notes", "delete", {"id": 1})) == "deny"


def test_denied_message_says_what_did_not_run_and_why() -> None:
    by_policy = denied_message("notes", "delete", by_policy=True)
    by_user = denied_message("notes", "delete", by_policy=False)
    for text in (by_policy, by_user):
        assert text.startswith("the call to delete (server notes) did not run")
        assert "Do not call it again with the same arguments" in text
    assert "the policy denies it" in by_policy
    assert "the user did not approve it" in by_user


def test_allow_always_for_a_tool_named_like_a_glob_allows_that_tool_only() -> None:
    policy = ApprovalPolicy()
    policy.allow("notes", "read*")
    assert policy.decide("notes", "read*") == "allow"
    assert policy.decide("notes", "read_secrets") == "ask"
    assert exact_pattern("notes", "a?[b]") == "notes:a[?][[]b]"


def test_parse_answer() -> None:
    assert parse_answer(" Y ", always_offered=True) == "once"
    assert parse_answer("a", always_offered=True) == "always"
    assert parse_answer("a", always_offered=False) == "deny"
    assert parse_answer("", always_offered=True) == "deny"
    assert parse_answer("no", always_offered=True) == "deny"


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("summarise https://docs.python.org/3/library/re.html", {"docs.python.org"}),
        ("is example.com up? and http://127.0.0.1:8000/x", {"example.com", "127.0.0.1"}),
        ("read notes about the trip", set()),
        ("fetch HTTPS://Wiki.Example.ORG/Page", {"wiki.example.org"}),
    ],
)
def test_the_hosts_a_message_names(text: str, hosts: set[str]) -> None:
    assert named_hosts(text) == hosts


FETCH_TAINT = Taint("untrusted content (read_file)", frozenset({"example.com"}))


@pytest.mark.parametrize(
    ("url", "trusted", "gated"),
    [
        ("https://example.com/page", (), False),  # the user named it
        ("https://docs.example.com/page", (), False),  # a subdomain of a named host
        ("https://evil.test/collect?d=hunter2", (), True),
        ("https://example.com.evil.test/x", (), True),  # not a subdomain of example.com
        ("https://api.github.com/x", ("github.com",), False),  # trusted by the user
        ("not a url", (), True),
    ],
)
def test_fetch_after_untrusted_content_reaches_only_named_or_trusted_hosts(
    url: str, trusted: tuple[str, ...], gated: bool
) -> None:
    policy = ApprovalPolicy(trusted_hosts=trusted)
    why = policy.gate("fetch", "fetch", {"url": url}, read_only=True, taint=FETCH_TAINT)
    assert bool(why) == gated
    if gated:
        assert why.startswith("untrusted content (read_file) entered this turn")


@pytest.mark.parametrize(
    ("tool", "read_only", "trusted", "taint", "gated"),
    [
        ("write_file", False, (), FETCH_TAINT, True),
        ("read_file", True, (), FETCH_TAINT, False),
        ("write_file", False, ("files:write_*",), FETCH_TAINT, False),
        ("write_file", False, ("other:*",), FETCH_TAINT, True),
        ("write_file", False, (), None, False),  # nothing untrusted in the turn: the policy
    ],
)
def test_a_call_that_can_act_is_gated_after_untrusted_content(
    tool: str, read_only: bool, trusted: tuple[str, ...], taint: Taint | None, gated: bool
) -> None:
    policy = ApprovalPolicy(rules={"*": "allow"}, trusted_tools=trusted)
    why = policy.gate("files", tool, {}, read_only=read_only, taint=taint)
    assert bool(why) == gated


def test_a_named_host_still_gets_no_words_read_from_files_or_memory() -> None:
    taint = Taint(
        "untrusted content (read_file)",
        frozenset({"blog.example"}),
        frozenset({"hunter2", "password"}),  # read from config.yaml this turn
    )
    policy = ApprovalPolicy()
    page = policy.gate(
        "fetch", "fetch", {"url": "https://blog.example/post/2"}, read_only=True, taint=taint
    )
    assert page == ""  # another page of the host the user named
    leak = policy.gate(
        "fetch",
        "fetch",
        {"url": "https://blog.example/c?d=Hunter2%21"},  # percent-encoded, other case
        read_only=True,
        taint=taint,
    )
    assert leak.endswith(
        "would send 'hunter2', read from a file, a tool or memory, to blog.example"
    )
