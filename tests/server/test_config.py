"""``ringlab serve --config FILE``: loading, precise errors, flags winning."""

import pytest

from server.config import ConfigError, load_config, server_config


def write(tmp_path, text):
    path = tmp_path / "ringlab.toml"
    path.write_text(text)
    return path


def test_full_file_becomes_a_server_config(tmp_path):
    path = write(
        tmp_path,
        """
        [server]
        db = "chat.db"
        allowed_origins = ["https://shop.example"]
        [protocol]
        heartbeat_interval = 5
        [limits]
        frame_rate = 50
        connections_per_address = 0
        [demo]
        max_chats = 2
        binding = "strict"
        """,
    )
    config = server_config(load_config(path), None)
    assert config.db == "chat.db"
    assert config.allowed_origins == ("https://shop.example",)
    assert config.timings.heartbeat_interval == 5
    assert config.timings.dead_peer_timeout == 30  # untouched keys keep the protocol defaults
    assert (config.demo_settings.max_chats, config.demo_settings.binding) == (2, "strict")
    assert (config.limits.frame_rate, config.limits.connections_per_address) == (50, 0)
    assert config.limits.frame_burst == 60  # untouched limits keep their defaults
    assert server_config(load_config(path), "other.db").db == "other.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = 70000", "`server.port`"),
        ("[server]\nport = 'x'", "Expected `int | null`, got `str` - at `server.port`"),
        ("[protocol]\nheartbeat_interval = 0", "`protocol.heartbeat_interval`"),
        ("[demo]\nbinding = 'loose'", "`demo.binding`"),
        ("[limits]\nframe_rate = -1", "`limits.frame_rate`"),
        ("[sever]\nport = 1", "unknown field `sever`"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_key_and_what_was_expected(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert str(err.value).startswith(str(tmp_path))
    assert expected in str(err.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
