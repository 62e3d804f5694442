"""Finding strategies by entry point, file path or module path, and registering them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from botkit import hookimpl
from botkit.intents import Place
from botkit.plugins import (
    HOOK_NAMES,
    PluginError,
    StrategyInfo,
    available,
    installed_names,
    make_plugin_manager,
    register_strategy,
    resolve,
    summary_of,
)

STRATEGY_SOURCE = '''
from botkit import hookimpl, Place


class Echo:
    """Buys one lot on every trade.

    More text that is not part of the summary.
    """

    def __init__(self, params):
        self.params = params

    @hookimpl
    def on_trade(self, ctx, trade):
        return [Place(trade.symbol, "buy", "1", trade.price)]


class Other:
    pass


def not_a_class(params):
    return None
'''


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def fake_distribution(site: Path, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution on ``site`` that registers strategy entry points."""
    info = site / "botkit_test_strategies-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: botkit-test-strategies\nVersion: 0.1\n"
    )
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[botkit.strategies]\n{lines}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path with an importable strategy module and a distribution for it."""
    site = tmp_path / "site"
    write(site / "tp_strats" / "__init__.py", "")
    write(site / "tp_strats" / "echo.py", STRATEGY_SOURCE)
    write(site / "tp_strats" / "broken.py", "raise RuntimeError('cannot start')\n")
    fake_distribution(
        site,
        {
            "tp_echo": "tp_strats.echo:Echo",
            "tp_broken": "tp_strats.broken:Thing",
            "tp_missing": "tp_strats.nowhere:Thing",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    return site


# --------------------------------------------------------------------------- resolve


def test_resolve_file_relative_to_base_dir(tmp_path: Path) -> None:
    write(tmp_path / "bot" / "strategies" / "echo.py", STRATEGY_SOURCE)
    cls = resolve("strategies/echo.py:Echo", base_dir=tmp_path / "bot")
    assert cls.__name__ == "Echo"
    assert cls({"a": 1}).params == {"a": 1}


def test_resolve_file_falls_back_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "echo.py", STRATEGY_SOURCE)
    monkeypatch.chdir(tmp_path)
    assert resolve("echo.py:Echo", base_dir=tmp_path / "elsewhere").__name__ == "Echo"
    assert resolve(f"{tmp_path / 'echo.py'}:Echo").__name__ == "Echo"


def test_resolve_module_path(site: Path) -> None:
    assert resolve("tp_strats.echo:Echo").__name__ == "Echo"


def test_resolve_entry_point(site: Path) -> None:
    assert "tp_echo" in installed_names()
    assert resolve("tp_echo").__name__ == "Echo"


def test_unknown_entry_point_suggests_and_lists(site: Path) -> None:
    with pytest.raises(PluginError) as info:
        resolve("tp_ecoh")
    msg = str(info.value)
    assert "unknown strategy 'tp_ecoh'" in msg
    assert "did you mean 'tp_echo'?" in msg
    assert "tp_broken" in msg  # the installed names are listed
    assert "path/to/file.py:ClassName" in msg
    assert "\n" not in msg


def test_entry_point_that_fails_to_import(site: Path) -> None:
    with pytest.raises(PluginError, match=r"tp_broken.*failed to import: RuntimeError: cannot"):
        resolve("tp_broken")


def test_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as info:
        resolve("nope/strategy.py:S", base_dir=tmp_path)
    msg = str(info.value)
    assert "not found" in msg and str(tmp_path / "nope" / "strategy.py") in msg


def test_missing_class_lists_the_classes_in_the_file(tmp_path: Path) -> None:
    write(tmp_path / "echo.py", STRATEGY_SOURCE)
    with pytest.raises(PluginError) as info:
        resolve("echo.py:Ecko", base_dir=tmp_path)
    msg = str(info.value)
    assert "no class 'Ecko'; did you mean 'Echo'?" in msg
    assert "Echo, Other" in msg


def test_syntax_error_in_strategy_file(tmp_path: Path) -> None:
    write(tmp_path / "bad.py", "class S:\n    def x(self:\n        pass\n")
    with pytest.raises(PluginError, match=r"bad\.py has a syntax error at line 2"):
        resolve("bad.py:S", base_dir=tmp_path)


def test_target_must_be_a_class(tmp_path: Path) -> None:
    write(tmp_path / "echo.py", STRATEGY_SOURCE)
    with pytest.raises(PluginError, match="is a function, not a class"):
        resolve("echo.py:not_a_class", base_dir=tmp_path)


def test_params_must_be_a_pydantic_model(tmp_path: Path) -> None:
    write(tmp_path / "s.py", "class S:\n    Params = dict\n")
    with pytest.raises(PluginError, match="Params must be a pydantic BaseModel"):
        resolve("s.py:S", base_dir=tmp_path)


def test_unknown_module(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"no module named 'no_such_pkg\.strategy'"):
        resolve("no_such_pkg.strategy:S")


@pytest.mark.parametrize("spec", ["", "  ", ":Echo", "echo.py:", "echo.py:not a name"])
def test_malformed_specs(spec: str) -> None:
    with pytest.raises(PluginError):
        resolve(spec)


def test_a_file_name_without_a_class_gets_a_hint() -> None:
    with pytest.raises(PluginError, match=r"write 'mine\.py:ClassName'"):
        resolve("mine.py")
    with pytest.raises(PluginError, match=r"write 'path/to/file\.py:ClassName'"):
        resolve("strategies/mine")


# --------------------------------------------------------------------------- available


def test_available_lists_summaries_and_survives_broken_entry_points(site: Path) -> None:
    infos = {i.name: i for i in available()}
    assert infos["tp_echo"] == StrategyInfo(
        "tp_echo", "tp_strats.echo:Echo", "Buys one lot on every trade.", None
    )
    assert infos["tp_broken"].error == "RuntimeError: cannot start"
    assert infos["tp_missing"].error is not None
    assert infos["tp_missing"].error.startswith("ModuleNotFoundError")


def test_summary_is_the_first_docstring_line() -> None:
    class NoDoc:
        pass

    class Doc:
        """First line.

        Second paragraph.
        """

    assert summary_of(NoDoc) == ""
    assert summary_of(Doc) == "First line."


# --------------------------------------------------------------------------- registration


class Good:
    """Trades on every print and reports fills."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.fills: list[Any] = []

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Place]:
        return [Place(trade, "buy", "1", "100")]

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.fills.append(fill)


class Misspelled:
    def __init__(self, params: dict[str, Any]) -> None:
        pass

    @hookimpl
    def on_trades(self, ctx: Any, trade: Any) -> None:
        return None


class WrongArgument:
    def __init__(self, params: dict[str, Any]) -> None:
        pass

    @hookimpl
    def on_bar(self, ctx: Any, candle: Any) -> None:
        return None


class ForgotMarker:
    def __init__(self, params: dict[str, Any]) -> None:
        pass

    def on_trade(self, ctx: Any, trade: Any) -> None:
        return None


def test_registered_strategy_hooks_are_called() -> None:
    pm = make_plugin_manager()
    good = Good({})
    register_strategy(pm, good, "good")
    assert pm.hook.on_trade(ctx=None, trade="BTC/USDT") == [[Place("BTC/USDT", "buy", "1", "100")]]
    pm.hook.on_fill(ctx=None, fill="f1")
    assert good.fills == ["f1"]
    # Hooks the strategy does not implement are simply not called.
    assert pm.hook.on_bar(ctx=None, bar=None) == []


def test_hook_names_match_the_specs() -> None:
    expected = {
        "on_start",
        "on_trade",
        "scan_trades",
        "on_trade_columns",
        "on_book",
        "on_ticker",
        "on_bar",
        "on_timer",
        "on_order",
        "on_fill",
        "on_stop",
    }
    assert expected == HOOK_NAMES


def test_misspelled_hook_names_strategy_and_suggests() -> None:
    pm = make_plugin_manager()
    with pytest.raises(PluginError) as info:
        register_strategy(pm, Misspelled({}), "trend")
    msg = str(info.value)
    assert "strategy 'trend'" in msg
    assert "'on_trades'" in msg and "did you mean 'on_trade'?" in msg
    assert not pm.has_plugin("trend")


def test_hook_argument_not_in_spec() -> None:
    pm = make_plugin_manager()
    with pytest.raises(PluginError) as info:
        register_strategy(pm, WrongArgument({}), "bars")
    msg = str(info.value)
    assert "strategy 'bars'" in msg and "candle" in msg and "\n" not in msg


def test_hook_method_without_marker() -> None:
    with pytest.raises(PluginError, match=r"'on_trade' is not marked with @botkit\.hookimpl"):
        register_strategy(make_plugin_manager(), ForgotMarker({}), "quiet")


def test_duplicate_registration_name() -> None:
    pm = make_plugin_manager()
    register_strategy(pm, Good({}), "twin")
    with pytest.raises(PluginError, match="'twin' is already registered"):
        register_strategy(pm, Good({}), "twin")
