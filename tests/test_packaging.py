"""An installed `propdesk` works outside the checkout: the labelled corpus that `propdesk eval`
and `propdesk lexicon train` use by default is package data, looked up inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import warnings
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

import pytest

from bot.nlp.evaluate import DEFAULT_FILES, default_corpus
from bot.nlp.train import TRAINING_FILES, training_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a wheel of this checkout installs, laid out by setuptools' own `build_py` from
    pyproject.toml (packages and package data), in a folder of their own."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    target = tmp_path_factory.mktemp("site-packages")
    here = Path.cwd()
    os.chdir(ROOT)  # setuptools resolves the packages relative to the project folder
    try:
        dist = Distribution()
        dist.script_name = "setup.py"
        with warnings.catch_warnings():  # setuptools still calls [tool.setuptools] "beta"
            warnings.simplefilter("ignore")
            apply_configuration(dist, str(ROOT / "pyproject.toml"))
        # Only what pyproject.toml declares, as from a clean checkout: an egg-info folder left
        # by an editable install would otherwise add the files it happened to list.
        dist.include_package_data = False
        build = dist.get_command_obj("build_py")
        build.build_lib = str(target)  # type: ignore[attr-defined]
        build.ensure_finalized()
        build.run()
    finally:
        os.chdir(here)
    return target


def test_the_default_corpus_is_a_package_resource() -> None:
    corpus = files("bot.nlp") / "corpus"
    assert [p.name for p in default_corpus()] == list(DEFAULT_FILES)
    assert [p.name for p in training_corpus()] == list(TRAINING_FILES)
    for path in default_corpus():
        assert (corpus / path.name).is_file()
        assert path.read_bytes() == (corpus / path.name).read_bytes()


def test_pyproject_declares_the_corpus_as_package_data() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    patterns = [
        *setuptools["package-data"].get("*", ()),
        *setuptools["package-data"].get("bot.nlp.corpus", ()),
    ]
    assert all(any(fnmatch(name, p) for p in patterns) for name in DEFAULT_FILES)
    assert any(fnmatch("bot.nlp.corpus", p) for p in setuptools["packages"]["find"]["include"])


def test_the_corpus_is_in_what_gets_installed(installed: Path) -> None:
    shipped = {p.name for p in (installed / "bot" / "nlp" / "corpus").glob("*.jsonl")}
    assert set(DEFAULT_FILES) <= shipped  # sets put aside for the next round ship too
    assert (installed / "bot" / "nlp" / "data" / "model.json").is_file()
    assert not (installed / "tests").exists()


OUTSIDE = """
import importlib.util, json, sys
site = sys.argv[1]
sys.path.insert(0, site)
spec = importlib.util.find_spec("tests")
assert spec is None or not (spec.origin or "").startswith(sys.argv[2]), spec
import bot
from bot.cli import main
from bot.nlp.evaluate import default_corpus
from bot.nlp.train import training_corpus
paths = [str(p) for p in default_corpus() + training_corpus()]
status = main(["eval"])
print(json.dumps({"bot": bot.__file__, "paths": paths, "status": status}))
"""


def test_eval_finds_its_corpus_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-P", "-c", OUTSIDE, str(installed), str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    *report, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    assert result["status"] == 0
    assert result["bot"].startswith(str(installed))
    assert all(
        path.startswith(str(installed / "bot" / "nlp" / "corpus")) for path in result["paths"]
    )
    headers = [line for line in report if line.startswith("== ")]
    assert [h.split(":")[0].rsplit("/", 1)[-1] for h in headers] == list(DEFAULT_FILES)
