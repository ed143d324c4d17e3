"""Command-line options generated from a dataclass's fields, so that a setting added to a
config class appears on the command line, with its help, without touching the CLI.

Each field becomes ``--field-name``; its ``metadata`` says the rest:

- ``help`` (required): what the setting does;
- ``default``: how to describe a default the field's value does not show (``None`` meaning
  "the cores available"); otherwise a plain default is shown as it is;
- ``metavar``, ``choices``: as in argparse;
- ``flags``: the option strings, when not ``--field-name`` (``("-o", "--output")``);
- ``deprecated``: old spellings, still accepted, hidden from ``--help``, each use noted on
  standard error;
- ``off``: for a boolean, more spellings that turn it off besides ``--no-field-name``;
- ``separator``: for a list, items given as one argument are split on it as well;
- ``command_line``: ``False`` for a setting only a config file can hold.

Types map as follows: ``bool`` becomes ``--flag/--no-flag``; ``int``, ``float``, ``str`` and
``Path`` take one value; ``Literal[...]`` takes one of its values; ``list[T]`` and
``tuple[T, ...]`` take one or more; ``X | None`` is ``X``. Options default to "not given"
(``argparse.SUPPRESS``), so :func:`given_options` returns only what the command line set, and a
config file's values stay where the command line is silent.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Where options go: an ArgumentParser, or one of its argument groups (argparse does not export
# the group's type).
Options = Any
_SCALARS = (int, float, str, Path)
_METAVARS = {int: "N", float: "X", Path: "PATH"}


class DeprecatedAlias(argparse.Action):
    """An old spelling of an option: it works as the new one does, is hidden from ``--help``,
    and each use prints a one-line note on standard error."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, replacement: str,
                 nargs: int | str | None = None, const: Any = None, type: Any = None,
                 choices: Iterable[Any] | None = None, metavar: str | tuple[str, ...] | None = None,
                 **_: Any) -> None:
        super().__init__(option_strings, dest, nargs=nargs, const=const, default=argparse.SUPPRESS,
                         type=type, choices=choices, help=argparse.SUPPRESS, metavar=metavar)
        self.replacement = replacement

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"{parser.prog}: {option_string} is deprecated; use {self.replacement}",
              file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_deprecated(parser: Options, action: argparse.Action, *old: str) -> None:
    """Accept ``old`` spellings of ``action`` (an option already added to ``parser``)."""
    if isinstance(action, argparse.BooleanOptionalAction) or action.nargs == 0:
        raise TypeError(f"{old}: deprecated spellings of flags are not supported")
    parser.add_argument(*old, action=DeprecatedAlias, dest=action.dest,
                        replacement="/".join(action.option_strings), nargs=action.nargs,
                        type=action.type, choices=action.choices, metavar=action.metavar)


def option_name(field: dataclasses.Field[Any]) -> str:
    """The main option string of a field (its long form)."""
    flags = field.metadata.get("flags")
    return flags[-1] if flags else "--" + field.name.replace("_", "-")


def command_line_fields(cls: type, only: Iterable[str] | None = None) -> list[dataclasses.Field[Any]]:
    """The fields of ``cls`` that are options (all, or those named in ``only``, in that order)."""
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    if only is None:
        return [f for f in by_name.values() if f.metadata.get("command_line", True)]
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    return [by_name[name] for name in only]


def add_dataclass_options(parser: Options, cls: type, *,
                          only: Iterable[str] | None = None,
                          defaults: Mapping[str, str] | None = None) -> list[argparse.Action]:
    """Add an option to ``parser`` (a parser or an argument group) for each field of ``cls``
    (or each named in ``only``); ``defaults`` describes defaults that differ for this command.
    Returns the actions added, in field order."""
    hints = typing.get_type_hints(cls)
    added = []
    for field in command_line_fields(cls, only):
        kind = _unwrap(hints[field.name])
        meta = field.metadata
        flags = list(meta.get("flags") or [option_name(field)])
        help_text = _help(field, kind, (defaults or {}).get(field.name))
        kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS, "help": help_text}
        if kind is bool:
            action = parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
            for off in meta.get("off", ()):
                parser.add_argument(off, dest=field.name, action="store_false",
                                    default=argparse.SUPPRESS, help=f"the same as --no-{flags[-1][2:]}")
        else:
            kwargs.update(_value_kwargs(cls, field, kind))
            action = parser.add_argument(*flags, **kwargs)
            if meta.get("deprecated"):
                add_deprecated(parser, action, *meta["deprecated"])
        added.append(action)
    return added


def given_options(args: argparse.Namespace, cls: type,
                  only: Iterable[str] | None = None) -> dict[str, Any]:
    """The settings of ``cls`` that the command line gave, converted to the fields' types."""
    hints = typing.get_type_hints(cls)
    given = {}
    for field in command_line_fields(cls, only):
        if not hasattr(args, field.name):
            continue
        value = getattr(args, field.name)
        kind = _unwrap(hints[field.name])
        origin = typing.get_origin(kind)
        if origin in (list, tuple):
            separator = field.metadata.get("separator")
            if separator:
                value = [part.strip() for item in value for part in item.split(separator)
                         if part.strip()]
            value = tuple(value) if origin is tuple else list(value)
        given[field.name] = value
    return given


def unknown_options(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """The message for arguments ``parser`` did not recognise, each unknown option with the
    closest one the parser has (``--batchsize (did you mean --batch-size?)``)."""
    options = [s for action in parser._actions for s in action.option_strings  # noqa: SLF001
               if action.help is not argparse.SUPPRESS and s.startswith("--")]
    unknown = [arg for arg in extras if arg.startswith("-") and arg != "-"]
    parts = []
    for arg in unknown or extras:
        name = arg.split("=", 1)[0]
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6) if name.startswith("-") else []
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return "unrecognized arguments: " + " ".join(parts)


# ---------------------------------------------------------------------------------------------


def _unwrap(hint: Any) -> Any:
    """``X | None`` as X; any other type as it is."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _value_kwargs(cls: type, field: dataclasses.Field[Any], kind: Any) -> dict[str, Any]:
    meta = field.metadata
    origin = typing.get_origin(kind)
    item = kind
    kwargs: dict[str, Any] = {}
    if origin in (list, tuple):
        args = [a for a in typing.get_args(kind) if a is not Ellipsis]
        if len(args) != 1:
            _unsupported(cls, field, kind)
        item = args[0]
        kwargs["nargs"] = "+"
    if typing.get_origin(item) is typing.Literal:
        kwargs["choices"] = typing.get_args(item)
        kwargs["type"] = type(kwargs["choices"][0])
    elif item in _SCALARS:
        kwargs["type"] = item
    else:
        _unsupported(cls, field, kind)
    if "choices" in meta:
        kwargs["choices"] = tuple(meta["choices"])
    metavar = meta.get("metavar") or (None if "choices" in kwargs else _METAVARS.get(item))
    if metavar:
        kwargs["metavar"] = metavar
    return kwargs


def _unsupported(cls: type, field: dataclasses.Field[Any], kind: Any) -> None:
    raise TypeError(f"{cls.__name__}.{field.name}: a {kind} cannot be a command-line option; give "
                    "the field metadata command_line=False to keep it to config files")


def _help(field: dataclasses.Field[Any], kind: Any, default_text: str | None) -> str:
    text: str = field.metadata.get("help", "")
    if default_text is None:
        default_text = field.metadata.get("default")
    if default_text is None and "default" not in text:
        default_text = _shown_default(field, kind)
    if default_text:
        text = f"{text} (default: {default_text})"
    return text.replace("%", "%%")  # argparse formats help with %


def _shown_default(field: dataclasses.Field[Any], kind: Any) -> str | None:
    value = field.default
    if value is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    if kind is bool:
        return "on" if value is True else None
    if value is dataclasses.MISSING or value is None or value in ("", [], ()):
        return None
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)
