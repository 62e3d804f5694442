"""The documents' Python examples run as written.

Every fenced ``python`` block in the README and ``docs/`` that starts with an
import is a complete example: it is executed here from the repository root (so
``bot.yaml`` is the shipped one). Blocks that are fragments (a signature list, a
method shown out of its class) start otherwise and are left to the reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for n, code in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8")), 1):
            if code.startswith(("from ", "import ")):
                found.append((f"{doc.relative_to(ROOT)}#{n}", code))
    return found


EXAMPLES = examples()


def test_the_documents_have_runnable_examples() -> None:
    assert len(EXAMPLES) >= 4, [name for name, _ in EXAMPLES]


@pytest.mark.parametrize(("name", "code"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_runs(name: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(code, name, "exec"), {"__name__": "docs_example"})


def test_every_venue_option_is_documented() -> None:
    """docs/bot-yaml.md lists each venue's options under the venue's name (and the
    kit's common ones once), so a new option cannot ship undocumented."""
    import importlib

    from botkit.venues import registry
    from botkit.venues.kit.options import VenueOptions

    text = (ROOT / "docs" / "bot-yaml.md").read_text(encoding="utf-8")
    section = text.split("## `venue.options`", 1)[1].split("\n## ", 1)[0]
    common, _, rest = section.partition("\n`")
    tables = {
        name: body
        for name, body in re.findall(r"^`?(\w+)`:\n(.*?)(?=^`\w+`:|\Z)", "`" + rest, re.S | re.M)
    }
    for key in VenueOptions.model_fields:
        assert f"| `{key}` |" in common, key
    for name in registry.names():
        spec = registry.get(name)
        if spec.options is None:
            continue
        module, _, cls = spec.options.partition(":")
        model = getattr(importlib.import_module(module), cls)
        own = set(model.model_fields) - set(VenueOptions.model_fields)
        assert name in tables, f"no `{name}`: table of options"
        missing = sorted(k for k in own if f"| `{k}` |" not in tables[name])
        assert not missing, (name, missing)


def test_every_bot_yaml_key_is_documented() -> None:
    """docs/bot-yaml.md has a row for every key of every section of bot.yaml (the
    section's own table, under ``## `section` ``), so no option ships undocumented."""
    import typing

    from pydantic import BaseModel

    from botkit.config.schema import BotConfig

    text = (ROOT / "docs" / "bot-yaml.md").read_text(encoding="utf-8")
    for name, field in BotConfig.model_fields.items():
        ann = field.annotation
        model = next(
            (
                t
                for t in (ann, *typing.get_args(ann))
                if isinstance(t, type) and issubclass(t, BaseModel)
            ),
            None,
        )
        if model is None:  # a top-level key (mode, log_level)
            assert f"| `{name}` |" in text, name
            continue
        section = text.split(f"\n## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        missing = sorted(k for k in model.model_fields if f"| `{k}` |" not in section)
        assert not missing, (name, missing)


def test_every_mqtt_option_is_documented() -> None:
    """docs/bot-yaml.md's `mqtt` table lists each key of the section (and of `tls`)."""
    from botkit.config.mqtt import MqttConfig, MqttTls

    text = (ROOT / "docs" / "bot-yaml.md").read_text(encoding="utf-8")
    section = text.split("## `mqtt`", 1)[1].split("\n## ", 1)[0]
    keys = [*MqttConfig.model_fields, *(f"tls.{k}" for k in MqttTls.model_fields)]
    missing = [k for k in keys if f"| `{k}` |" not in section]
    assert not missing, missing
