"""``[ratelimit]`` settings, the limit list of the control plane, and GET /limits' ``rate``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from emulator.config import ConfigError, load_config
from emulator.errors import InvalidInput
from emulator.ratelimit import Limiter, MemoryStore, RateLimit, Unit
from emulator.ratelimit.settings import RateLimitConfig, RateLimiting, parse_limits, shown_url
from emulator.ratelimit.view import rate_view

LEGACY_DEFAULT = """
[ratelimit]
enabled = true

[[ratelimit.limits]]
name = "post"
verb = "POST"
value = 120
unit = "MINUTE"

[[ratelimit.limits]]
name = "boots"
tier = "project"
verb = "POST"
uri = "*/servers"
regex = "/servers$"
value = 120
unit = "MINUTE"
burst = 10
"""


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_section_is_off_by_default() -> None:
    assert load_config(None).ratelimit == RateLimitConfig()
    assert not RateLimitConfig().enabled


def test_limits_come_from_the_file(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, LEGACY_DEFAULT)).ratelimit
    assert config.enabled and config.store == "memory"
    post, boots = config.rate_limits()
    assert post == RateLimit("post", "user", 120, Unit.MINUTE, verb="POST")
    assert boots.tier == "project" and boots.burst == 10 and boots.uri == "*/servers"


@pytest.mark.parametrize(("text", "complaint"), [
    ("[ratelimit]\nenable = true\n", "unknown key(s) in [ratelimit]: enable"),
    ('[ratelimit]\nstore = "memcached://x"\n', 'must be "memory" or a redis:// URL'),
    ('[[ratelimit.limits]]\nname = "a"\nvalue = 0\nunit = "MINUTE"\n',
     "ratelimit.limits[0]: value must be positive"),
    ('[[ratelimit.limits]]\nname = "a"\nvalue = 1\nunit = "WEEK"\n',
     "must be one of SECOND, MINUTE, HOUR, DAY"),
    ('[[ratelimit.limits]]\nname = "a"\nvalue = 1\nunit = "DAY"\nregex = "("\n',
     "must be a regular expression"),
    ('[[ratelimit.limits]]\nname = "a"\nvalue = 1\nunit = "DAY"\ntier = "tenant"\n',
     "must be one of project, user, route"),
    ('[[ratelimit.limits]]\nname = "a"\nvalue = 1\nunit = "DAY"\n'
     '[[ratelimit.limits]]\nname = "a"\nvalue = 2\nunit = "DAY"\n',
     "limits give the name 'a' to more than one limit"),
])
def test_a_bad_section_is_one_clear_line(tmp_path: Path, text: str, complaint: str) -> None:
    tomllib.loads(text)  # the text itself is valid TOML
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, text))
    assert complaint in str(caught.value)


def test_the_control_plane_body_is_checked_as_the_file_is() -> None:
    limits = parse_limits([{"name": "a", "value": 5, "unit": "SECOND", "tier": "route"}])
    assert limits == (RateLimit("a", "route", 5, Unit.SECOND),)
    with pytest.raises(InvalidInput, match=r"limits\[0\]: value must be positive"):
        parse_limits([{"name": "a", "value": -1, "unit": "SECOND"}])
    with pytest.raises(InvalidInput, match="limits must be an array"):
        parse_limits({"name": "a"})
    with pytest.raises(InvalidInput, match="to more than one limit"):
        parse_limits([{"name": "a", "value": 1, "unit": "DAY"}] * 2)
    with pytest.raises(InvalidInput, match=r"unknown key\(s\) in limits\[0\]: per$"):
        parse_limits([{"name": "a", "value": 1, "unit": "DAY", "per": "user"}])
    with pytest.raises(InvalidInput, match=r"limits\[0\]: verb must be \"\*\" or an HTTP"):
        parse_limits([{"name": "a", "value": 1, "unit": "DAY", "verb": "GE T"}])
    assert parse_limits([{"name": "a", "value": 1, "unit": "DAY", "verb": "get"}])[0].verb == "GET"


def test_rate_limiting_off_shows_an_empty_rate_and_refuses_a_new_set() -> None:
    switch = RateLimiting(RateLimitConfig())
    assert switch.rate("p", "u") == []
    with pytest.raises(RuntimeError):
        switch.replace([RateLimit("a", "user", 1, Unit.DAY)])


def test_the_store_url_is_shown_without_its_password() -> None:
    assert shown_url("redis://:s3cret@db:6379/0") == "redis://:***@db:6379/0"
    assert shown_url("redis://user:s3cret@db/0") == "redis://user:***@db/0"
    assert shown_url("redis://db:6379") == "redis://db:6379"


def test_rate_lists_nova_legacy_entries_with_the_callers_standing() -> None:
    clock = [0.0]
    limiter = Limiter([
        RateLimit("post", "user", 3, Unit.MINUTE, verb="POST"),
        RateLimit("boots", "project", 2, Unit.MINUTE, verb="POST", uri="*/servers",
                  regex="/servers$"),
        RateLimit("get", "user", 10, Unit.MINUTE, verb="GET"),
    ], MemoryStore(lambda: clock[0]))
    # two boots pass; the third is refused by "boots" (T = 30 s) and consumes nothing
    assert [limiter.check("p", "u", "POST", "/compute/v2.1/servers").allowed
            for _ in range(3)] == [True, True, False]
    wall = 1323988965.0  # 2011-12-15T22:42:45Z
    assert rate_view(limiter, "p", "u", now=wall) == [
        {"uri": "*", "regex": ".*", "limit": [
            {"verb": "POST", "value": 3, "remaining": 1, "unit": "MINUTE",
             "next-available": "2011-12-15T22:42:45Z"},
            {"verb": "GET", "value": 10, "remaining": 10, "unit": "MINUTE",
             "next-available": "2011-12-15T22:42:45Z"},
        ]},
        {"uri": "*/servers", "regex": "/servers$", "limit": [
            {"verb": "POST", "value": 2, "remaining": 0, "unit": "MINUTE",
             "next-available": "2011-12-15T22:43:15Z"},
        ]},
    ]
    # another user of the project shares "boots" but has its own "post"
    other = rate_view(limiter, "p", "v", now=wall)
    assert other[0]["limit"][0]["remaining"] == 3
    assert other[1]["limit"][0]["remaining"] == 0
    # no caller: route-tier limits only (none here)
    assert rate_view(limiter, None, None, now=wall) == []


def test_an_enabled_store_nobody_answers_is_one_line_at_start() -> None:
    from dataclasses import replace

    from conformance.process import free_port
    from emulator.config import Config
    from emulator.serving import check_ratelimit

    url = f"redis://:pw@127.0.0.1:{free_port()}/0"
    config = replace(Config(), ratelimit=RateLimitConfig(enabled=True, store=url))
    with pytest.raises(ConfigError) as caught:
        check_ratelimit(config)
    message = str(caught.value)
    assert message.startswith(f"[ratelimit] store {shown_url(url)}: ")
    assert "pw" not in message and "\n" not in message
    check_ratelimit(replace(config, ratelimit=RateLimitConfig(enabled=False, store=url)))
    assert RateLimiting(RateLimitConfig(store=url)).limiter.store.blocking is False
