"""The run configuration: TOML plus dotted overrides, errors that name the field and file."""

import pytest

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.train import main as train_main
from crawl2gpt.training.train_config import load_train_config

RUN_TOML = """
model = { size = "gpt3-small", n_ctx = 1024 }
micro_batch = 8
[data]
manifest = "out/manifest.json"
[optim]
lr = 6e-4
"""


def test_file_then_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML)
    config = load_train_config(path, ["optim.lr=3e-4", "model.n_layer=6"])
    gpt = config.gpt_config()
    assert (gpt.n_ctx, gpt.n_layer, gpt.d_model) == (1024, 6, 768)
    assert config.optim.lr == 3e-4 and config.micro_batch == 8
    assert config.data.manifest == "out/manifest.json"


def test_unknown_fields_are_named_with_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML + "warmup = 5\n")
    with pytest.raises(ConfigError, match=r"optim: unknown field\(s\) \['warmup'\] in .*run.toml"):
        load_train_config(path)
    with pytest.raises(ConfigError, match=r"model: unknown field\(s\) \['n_layers'\]"):
        load_train_config(None, ["model.size=tiny", "model.n_layers=3"])
    with pytest.raises(ConfigError, match=r"model.d_model 64 is not divisible by model.n_head 5"):
        load_train_config(None, ["model.size=tiny", "model.n_head=5"])


def test_command_reports_bad_input_without_a_traceback(tmp_path, capsys):
    assert train_main(["--data", str(tmp_path / "missing.json"), "--model", "tiny"]) == 2
    assert "missing.json: manifest not found" in capsys.readouterr().err
