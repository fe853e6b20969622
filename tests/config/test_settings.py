"""Settings: defaults <- config.toml <- RUNG_* <- flags, with sources and clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung.config.errors import ConfigError
from rung.config.settings import (
    Settings,
    default_config_text,
    load_settings,
    write_settings,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path / "missing.toml", environ={})
    assert loaded.settings == Settings()
    assert loaded.settings.num_ctx == 16384
    assert set(loaded.sources.values()) == {"default"}


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'model = "from-file"\nnum_ctx = 4096\nmax_steps = 3\n')
    env = {"RUNG_MODEL": "from-env", "RUNG_NUM_CTX": "8192"}
    loaded = load_settings(config, environ=env, flags={"model": "from-flag", "default_tier": None})
    s = loaded.settings
    assert (s.model, s.num_ctx, s.max_steps) == ("from-flag", 8192, 3)
    assert loaded.sources["model"] == "flag --model"
    assert loaded.sources["num_ctx"] == "env RUNG_NUM_CTX"
    assert loaded.sources["max_steps"] == f"file {config}"
    assert loaded.sources["default_tier"] == "default"


def test_the_old_tier_key_still_sets_the_default_tier(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'tier = "chatbot"\n')
    loaded = load_settings(config, environ={})
    assert loaded.settings.default_tier == loaded.settings.tier == "chatbot"
    from_env = load_settings(tmp_path / "none.toml", environ={"RUNG_TIER": "assistant"})
    assert from_env.settings.tier == "assistant"
    assert from_env.sources["default_tier"] == "env RUNG_TIER"
    flag = load_settings(tmp_path / "none.toml", environ={}, flags={"default_tier": "agent"})
    assert flag.sources["default_tier"] == "flag --tier"


def test_ollama_host_is_used_only_when_nothing_more_specific_is(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    plain = load_settings(missing, environ={"OLLAMA_HOST": "gpu-box:11434"})
    assert plain.settings.ollama_host == "gpu-box:11434"
    assert plain.sources["ollama_host"] == "env OLLAMA_HOST"

    config = write(tmp_path / "config.toml", 'ollama_host = "http://file:1"\n')
    assert load_settings(config, environ={"OLLAMA_HOST": "x"}).settings.ollama_host == (
        "http://file:1"
    )
    env = {"OLLAMA_HOST": "x", "RUNG_OLLAMA_HOST": "http://rung:2"}
    assert load_settings(missing, environ=env).settings.ollama_host == "http://rung:2"


def test_bad_value_names_key_source_and_what_is_allowed(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "num_ctx = 10\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config, environ={})
    assert "num_ctx" in err.value.message and str(config) in err.value.message
    assert "512" in err.value.hint and "1048576" in err.value.hint

    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "none.toml", environ={"RUNG_THINK": "maybe"})
    assert "RUNG_THINK" in err.value.message and "auto | on | off" in err.value.hint


def test_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "model = \n")
    with pytest.raises(ConfigError) as err:
        load_settings(config, environ={})
    assert "not valid TOML" in err.value.message and str(config) in err.value.message


def test_unknown_key_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'modle = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config, environ={})
    assert "'modle'" in err.value.message and "model" in err.value.hint


def test_default_file_parses_and_uncommented_gives_the_defaults(tmp_path: Path) -> None:
    text = default_config_text()
    assert tomllib.loads(text) == {}
    lines = [
        line[2:]
        for line in text.splitlines()
        if line.startswith("# ") and " = " in line and "Allowed" not in line
    ]
    config = write(tmp_path / "config.toml", "\n".join(lines))
    assert load_settings(config, environ={}).settings == Settings()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_file_content_loads_or_fails_with_a_config_error(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        config = write(Path(tmp) / "config.toml", text)
        try:
            load_settings(config, environ={})
        except ConfigError as exc:
            assert exc.message and exc.hint


def test_a_toml_table_is_a_prefix(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", '[memory]\nbackend = "http"\nport = 9000\n')
    loaded = load_settings(config, environ={})
    assert loaded.settings.memory_backend == "http" and loaded.settings.memory_port == 9000
    assert loaded.sources["memory_port"] == f"file {config}"
    bad = write(tmp_path / "bad.toml", "[memory]\nbakend = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'memory_bakend'"):
        load_settings(bad, environ={})


def test_write_settings_starts_a_missing_file_from_the_commented_default(tmp_path: Path) -> None:
    path = tmp_path / "rung" / "config.toml"
    write_settings(path, {"model": "gemma3:4b", "pinned_tools": ("clock_*",)})
    loaded = load_settings(path, environ={})
    assert loaded.settings.model == "gemma3:4b"
    assert loaded.settings.pinned_tools == ("clock_*",)
    assert loaded.sources["model"] == f"file {path}"
    text = path.read_text()
    assert '\nmodel = "gemma3:4b"\n' in text and '# model = "qwen3:4b"' not in text
    assert len(text.splitlines()) == len(default_config_text().splitlines())  # in place


def test_write_settings_changes_only_what_it_sets(tmp_path: Path) -> None:
    original = '# mine\nmodel = "old"  # was\ntier = "chatbot"\n\n[memory]\nport = 9000\n'
    path = write(tmp_path / "config.toml", original)
    write_settings(path, {"model": "new", "default_tier": "agent", "num_ctx": 4096})
    assert path.read_text() == (
        '# mine\nmodel = "new"  # was\ndefault_tier = "agent"\nnum_ctx = 4096\n\n[memory]\n'
        "port = 9000\n"
    )
    assert load_settings(path, environ={}).settings.memory_port == 9000


def test_write_settings_changes_a_setting_where_it_is_in_its_table(tmp_path: Path) -> None:
    original = '[ollama]\nhost = "http://a:1"  # the box # upstairs\n\n[memory]\nport = 9000\n'
    path = write(tmp_path / "config.toml", original)
    write_settings(path, {"ollama_host": "http://b:2", "memory_port": 9001, "model": "m#1"})
    assert path.read_text() == (
        'model = "m#1"\n\n[ollama]\nhost = "http://b:2"  # the box # upstairs\n\n[memory]\n'
        "port = 9001\n"
    )
    loaded = load_settings(path, environ={}).settings
    assert (loaded.ollama_host, loaded.memory_port, loaded.model) == ("http://b:2", 9001, "m#1")


def test_write_settings_through_a_link_updates_the_file_it_names(tmp_path: Path) -> None:
    (tmp_path / "dotfiles").mkdir()
    real = write(tmp_path / "dotfiles" / "rung.toml", 'model = "old"\n')
    real.chmod(0o600)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    write_settings(link, {"model": "new"})
    assert link.is_symlink() and real.read_text() == 'model = "new"\n'
    assert real.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("model = \n", "not valid TOML"),
        ('[model]\nname = "x"\n', "unknown setting"),
    ],
)
def test_write_settings_leaves_a_file_it_cannot_update_as_it_was(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError, match=words.replace("[", "\\[")):
        write_settings(path, {"ollama_host": "http://b:2"})
    assert path.read_text() == text
    assert not list(tmp_path.glob("*.partial"))
