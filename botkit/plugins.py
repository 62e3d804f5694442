"""Finding, loading and registering strategies.

A strategy is a class built from its params (``Cls(params: dict)``) whose
methods are marked with ``@botkit.hookimpl``. It may declare a nested
``Params`` pydantic model (``extra="forbid"``) describing its params: the
strategy validates with it in ``__init__``, and the config loader validates
with the same model before anything runs, so a typo in bot.yaml is reported
with its path rather than as a crash mid-backtest.

A strategy is named in bot.yaml's ``use:`` in one of three ways:

- an entry-point name in the group ``botkit.strategies`` (``ema_cross``);
- ``path/to/file.py:ClassName`` (a relative path is looked up against the
  bot.yaml folder, then the working directory);
- ``package.module:ClassName`` (importable from ``sys.path``).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel

from botkit import hookspecs

if TYPE_CHECKING:
    from botkit.schedule import Schedule, Window

ENTRY_POINT_GROUP = "botkit.strategies"

_FORMS = "an installed strategy name, path/to/file.py:ClassName or package.module:ClassName"
# Enough to jog the memory; the full list is one `botkit strategies` away.
_MAX_LISTED = 12


class PluginError(ValueError):
    """A strategy could not be found, loaded or registered. The message says why and what to do."""


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """One installed strategy, as listed by ``botkit strategies``."""

    name: str
    target: str
    summary: str = ""
    error: str | None = None


def _hook_names() -> frozenset[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    return frozenset(
        name for name in dir(hookspecs) if pm.parse_hookspec_opts(hookspecs, name) is not None
    )


HOOK_NAMES: frozenset[str] = _hook_names()


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word`` (difflib, ignoring case), or None when nothing is close."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[match[0]] if match else None


def _end(word: str, choices: Iterable[str]) -> str:
    """End a sentence about ``word``: with a "did you mean" when one fits."""
    match = closest(word, choices)
    return f"; did you mean '{match}'?" if match else "."


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return f"{shown}, and {more} more" if more > 0 else shown


def _describe(exc: BaseException) -> str:
    # One line, so the message stays a single paragraph.
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        # Two distributions may claim a name; the first on sys.path wins, as
        # it would for an import.
        seen.setdefault(ep.name, ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def installed_names() -> list[str]:
    """The entry-point names of the installed strategies, sorted."""
    return [ep.name for ep in _entry_points()]


def summary_of(cls: type) -> str:
    """The first line of a class's own docstring, or ``""``."""
    doc = cls.__dict__.get("__doc__") or ""
    lines = inspect.cleandoc(doc).splitlines()
    return lines[0].strip() if lines else ""


def available() -> list[StrategyInfo]:
    """Every installed strategy; one that fails to import is listed with its error."""
    infos = []
    for ep in _entry_points():
        try:
            obj = ep.load()
        except Exception as exc:
            infos.append(StrategyInfo(ep.name, ep.value, "", _describe(exc)))
            continue
        if not inspect.isclass(obj):
            infos.append(StrategyInfo(ep.name, ep.value, "", f"{ep.value} is not a class"))
            continue
        infos.append(StrategyInfo(ep.name, ep.value, summary_of(obj)))
    return infos


def _check_class(obj: Any, what: str) -> type:
    if not inspect.isclass(obj):
        kind = "function" if callable(obj) else type(obj).__name__
        raise PluginError(
            f"{what} is a {kind}, not a class; a strategy is a class built as Cls(params) "
            "whose methods are marked with @botkit.hookimpl"
        )
    params_model(obj)
    return obj


def params_model(cls: type) -> type[BaseModel] | None:
    """The strategy's ``Params`` model, or None when it declares none."""
    model = getattr(cls, "Params", None)
    if model is None:
        return None
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        raise PluginError(
            f"{cls.__module__}.{cls.__qualname__}.Params must be a pydantic BaseModel "
            f"subclass, got {model!r}"
        )
    return model


def _get_class(module: ModuleType, class_name: str, where: str) -> type:
    obj = module
    for part in class_name.split("."):
        if not hasattr(obj, part):
            classes = sorted(
                name
                for name, value in vars(module).items()
                if inspect.isclass(value) and value.__module__ == module.__name__
            )
            raise PluginError(
                f"{where} has no class '{class_name}'{_end(class_name, classes)} "
                f"Classes defined there: {_listing(classes)}."
            )
        obj = getattr(obj, part)
    return _check_class(obj, f"{where}:{class_name}")


def _module_name_for(path: Path) -> str:
    # Unique per file, so two strategy files both called strategy.py do not
    # replace each other in sys.modules.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"botkit_user_strategy_{stem}_{digest}"


def _load_file(path: Path) -> ModuleType:
    name = _module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot load {path} as Python source; a strategy file ends in .py")
    module = importlib.util.module_from_spec(spec)
    # Registered before executing, as a normal import would: pydantic and
    # dataclasses look the module up by name while the class body runs.
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        if isinstance(exc, SyntaxError):
            raise PluginError(
                f"strategy file {path} has a syntax error at line {exc.lineno}: {exc.msg}"
            ) from exc
        if not isinstance(exc, Exception):
            raise
        raise PluginError(f"strategy file {path} failed to import: {_describe(exc)}") from exc
    return module


def _candidates(path: Path, base_dir: Path | None) -> list[Path]:
    if path.is_absolute():
        return [path]
    bases = [base_dir] if base_dir is not None else []
    bases.append(Path.cwd())
    out: list[Path] = []
    for base in bases:
        p = (base / path).resolve()
        if p not in out:
            out.append(p)
    return out


def _resolve_file(file_part: str, class_name: str, base_dir: Path | None) -> type:
    path = Path(file_part).expanduser()
    tried = _candidates(path, base_dir)
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        looked = " and ".join(str(p) for p in tried)
        raise PluginError(
            f"strategy file '{file_part}' not found (looked for {looked}); a relative path "
            "is taken from the bot.yaml folder, then the working directory"
        )
    return _get_class(_load_file(found), class_name, str(found))


def _resolve_module(module_name: str, class_name: str) -> type:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise PluginError(
                f"no module named '{module_name}' (in '{module_name}:{class_name}'); "
                "install the package that provides it, or name a file as "
                "path/to/file.py:ClassName"
            ) from exc
        raise PluginError(f"module '{module_name}' failed to import: {_describe(exc)}") from exc
    except Exception as exc:
        raise PluginError(f"module '{module_name}' failed to import: {_describe(exc)}") from exc
    return _get_class(module, class_name, f"module '{module_name}'")


def _resolve_entry_point(name: str) -> type:
    eps = {ep.name: ep for ep in _entry_points()}
    ep = eps.get(name)
    if ep is None:
        hint = ""
        if name.endswith(".py"):
            hint = f" To load a class from a file, write '{name}:ClassName'."
        elif "/" in name or "\\" in name:
            hint = " To load a class from a file, write 'path/to/file.py:ClassName'."
        elif "." in name:
            hint = " To load a class from a module, write 'package.module:ClassName'."
        raise PluginError(
            f"unknown strategy '{name}'{_end(name, eps)} Installed strategies: "
            f"{_listing(sorted(eps))}. Use {_FORMS}.{hint}"
        )
    try:
        obj = ep.load()
    except Exception as exc:
        raise PluginError(
            f"strategy '{name}' is installed ({ep.value}) but failed to import: {_describe(exc)}"
        ) from exc
    return _check_class(obj, f"strategy '{name}' ({ep.value})")


def resolve(spec: str, base_dir: str | Path | None = None) -> type:
    """The strategy class named by ``spec`` (see the module docstring for the forms).

    ``base_dir`` is the bot.yaml folder; relative file paths are looked up
    there first, then in the working directory. Raises :class:`PluginError`.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise PluginError(f"a strategy must be named by a non-empty string: {_FORMS}")
    spec = spec.strip()
    base = Path(base_dir) if base_dir is not None else None
    # rpartition keeps a Windows drive letter ("C:\\x.py:Cls") with the path.
    target, colon, class_name = spec.rpartition(":")
    if not colon:
        return _resolve_entry_point(spec)
    if not target or not class_name or not class_name.replace(".", "_").isidentifier():
        raise PluginError(f"'{spec}' is not a strategy reference; use {_FORMS}")
    is_file = target.endswith(".py") or "/" in target or "\\" in target
    if is_file:
        return _resolve_file(target, class_name, base)
    return _resolve_module(target, class_name)


def make_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager for the ``botkit`` project with the strategy hooks added."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


_MARKER = f"{hookspecs.PROJECT}_impl"


def _marked(cls: type) -> dict[str, str]:
    """Marked methods of a strategy class: attribute name -> the hook it implements.

    Read from the class, never the instance: ``dir()`` on an instance
    materialises its ``__dict__``, after which CPython reads every attribute of
    that instance on a slower path (measured 2.2x on a hook doing EMA arithmetic).
    """
    out: dict[str, str] = {}
    for attr in dir(cls):
        if attr.startswith("__"):
            continue
        opts = getattr(getattr(cls, attr, None), _MARKER, None)
        if isinstance(opts, dict):
            out[attr] = opts.get("specname") or attr
    return out


def _looks_like_hook(attr: str) -> str | None:
    """The hook an unmarked method seems meant to be (its name, or a near miss), or None."""
    if attr in HOOK_NAMES:
        return attr
    if attr.startswith(("on_", "scan_")):
        return closest(attr, HOOK_NAMES, cutoff=0.75)
    return None


def check_hooks(cls: type, who: str | None = None) -> dict[str, str]:
    """Check a strategy class's hook methods against the specs; returns its marked hooks.

    Raises :class:`PluginError` naming the method and the valid hooks for a
    method marked ``@hookimpl`` whose name is no hook (``on_trades``), and for
    a method that looks like a hook but is not marked, so would never be called.
    """
    who = who or f"strategy {cls.__qualname__}"
    hooks = ", ".join(sorted(HOOK_NAMES))
    impls = _marked(cls)
    for attr, hook in sorted(impls.items()):
        if hook not in HOOK_NAMES:
            raise PluginError(
                f"{who}: method '{attr}' is marked @hookimpl but there is no hook "
                f"'{hook}'{_end(hook, HOOK_NAMES)} Hooks: {hooks}."
            )
    for attr in sorted(dir(cls)):
        if attr in impls or attr.startswith("_") or not callable(getattr(cls, attr, None)):
            continue
        meant = _looks_like_hook(attr)
        if meant is None:
            continue
        if meant == attr:
            raise PluginError(
                f"{who}: method '{attr}' is not marked with @botkit.hookimpl, so it would "
                "never be called; add the decorator"
            )
        raise PluginError(
            f"{who}: method '{attr}' looks like the hook '{meant}' but is not one, and it is "
            f"not marked @hookimpl, so it would never be called; rename it to '{meant}' and "
            f"mark it @botkit.hookimpl (hooks: {hooks})"
        )
    return impls


# Each hook's arguments in the spec's order: a hookimpl may take any subset of them.
HOOK_ARGS: dict[str, tuple[str, ...]] = {
    name: tuple(inspect.signature(getattr(hookspecs, name)).parameters) for name in HOOK_NAMES
}


def _caller(impl: pluggy.HookImpl, hook: str) -> Callable[..., Any]:
    """A positional callable for a hookimpl, which may take any subset of the spec's args."""
    fn = impl.function
    spec_args = HOOK_ARGS[hook]
    args = tuple(impl.argnames)
    if args == spec_args:
        return fn
    pick = [spec_args.index(a) for a in args]
    return lambda *a: fn(*(a[i] for i in pick))


def register_strategy(
    pm: pluggy.PluginManager, instance: object, name: str
) -> dict[str, Callable[..., Any]]:
    """Register a strategy instance under ``name``; returns its hooks as plain callables.

    The one path every strategy takes into a run. Raises :class:`PluginError`
    naming the strategy and the offending method for a misspelled hook, a hook
    argument the spec does not have, a hook-like method without ``@hookimpl``,
    or a name already registered.

    What pluggy registers is a view holding the strategy's bound hook methods,
    never the instance itself (pluggy's ``register`` calls ``dir()`` on what it
    is given; see :func:`_marked`). The callables returned run on the instance
    and take the spec's arguments positionally, so the engine's hot loop never
    goes through pluggy's dispatch.
    """
    who = f"strategy '{name}' ({type(instance).__qualname__})"
    impls = check_hooks(type(instance), who)
    if pm.has_plugin(name):
        raise PluginError(f"{who}: a strategy named '{name}' is already registered")
    view = SimpleNamespace(**{attr: getattr(instance, attr) for attr in impls})
    try:
        pm.register(view, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{who}: {_describe_validation(exc)}") from exc
    except ValueError as exc:
        raise PluginError(f"{who}: {_describe(exc)}") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(view)
        raise PluginError(f"{who}: {_describe_validation(exc)}") from exc
    hooks: dict[str, Callable[..., Any]] = {}
    for hook in HOOK_NAMES:
        for impl in getattr(pm.hook, hook).get_hookimpls():
            if impl.plugin is view:
                hooks[hook] = _caller(impl, hook)
    for bulk in ("scan_trades", "on_trade_columns"):
        if bulk in hooks and "on_trade" not in hooks:
            pm.unregister(view)
            raise PluginError(
                f"{who}: implements {bulk} without on_trade; the trade a scan stops at "
                "is delivered through on_trade"
            )
    return hooks


def _describe_validation(exc: pluggy.PluginValidationError) -> str:
    text = " ".join(str(exc).split())
    return f"{text} (hooks and their arguments: see botkit.hookspecs)"


@dataclass
class StrategySpec:
    """One strategy instance to run: its name, the object, its params and timers."""

    name: str
    instance: object
    params: dict[str, Any] = field(default_factory=dict)
    symbols: frozenset[str] | None = None  # None: every configured symbol
    # name -> an interval in ns, or a botkit.schedule.Cron
    timers: dict[str, Schedule] = field(default_factory=dict)
    window: Window | None = None  # when it trades (None: always)


@dataclass(frozen=True)
class LoadedStrategy:
    """A registered strategy: its spec and its hooks, ready for the engine."""

    spec: StrategySpec
    hooks: Mapping[str, Callable[..., Any]]

    @property
    def name(self) -> str:
        return self.spec.name


def load_strategies(specs: Iterable[StrategySpec]) -> list[LoadedStrategy]:
    """Register every strategy with one plugin manager (names must be unique)."""
    pm = make_plugin_manager()
    return [LoadedStrategy(spec, register_strategy(pm, spec.instance, spec.name)) for spec in specs]


def strategy_symbols(params: Mapping[str, Any], known: Collection[str]) -> frozenset[str] | None:
    """The symbols a strategy trades: ``params.symbol`` or ``params.symbols``; None = all."""
    syms: list[str] = []
    if isinstance(params.get("symbol"), str):
        syms.append(params["symbol"])
    if isinstance(params.get("symbols"), list):
        syms.extend(str(s) for s in params["symbols"])
    return frozenset(syms) & frozenset(known) if syms else None


__all__ = [
    "ENTRY_POINT_GROUP",
    "HOOK_ARGS",
    "HOOK_NAMES",
    "LoadedStrategy",
    "PluginError",
    "StrategyInfo",
    "StrategySpec",
    "available",
    "check_hooks",
    "closest",
    "installed_names",
    "load_strategies",
    "make_plugin_manager",
    "params_model",
    "register_strategy",
    "resolve",
    "strategy_symbols",
    "summary_of",
]
