"""Named-method registries shared by the model verbs (impute, treat, normalise, aggregate), COINr style."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any


class MethodError(ValueError):
    """A method name or its parameters are not valid; the message lists what is allowed."""


@dataclass(frozen=True)
class MethodInfo:
    """One registered method: its implementation, its parameters with defaults, and a one-line description."""

    name: str
    impl: Any
    defaults: Mapping[str, Any]
    doc: str
    check: Callable[[dict[str, Any]], None] | None = None  # raises ValueError on bad parameter combinations


@dataclass
class Registry:
    """A registry of named methods for one verb (e.g. 'normalisation')."""

    verb: str
    methods: dict[str, MethodInfo] = field(default_factory=dict)

    def register(
        self,
        name: str,
        impl: Any,
        defaults: Mapping[str, Any] | None = None,
        doc: str = "",
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if name in self.methods:
            raise MethodError(f"{self.verb} method {name!r} is registered twice")
        self.methods[name] = MethodInfo(name, impl, dict(defaults or {}), doc, check)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.methods)

    def __contains__(self, name: object) -> bool:
        return name in self.methods

    def get(self, name: str) -> MethodInfo:
        try:
            return self.methods[name]
        except KeyError:
            raise MethodError(
                f"unknown {self.verb} method {name!r}; allowed: {', '.join(self.names)}"
            ) from None

    def resolve(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate params against the method's defaults and return the full parameter set."""
        info = self.get(name)
        params = dict(params or {})
        unknown = sorted(set(params) - set(info.defaults))
        if unknown:
            allowed = ", ".join(f"{k} (default {v!r})" for k, v in info.defaults.items()) or "none"
            raise MethodError(
                f"{self.verb} method {name!r}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}"
            )
        out = dict(info.defaults)
        for key, value in params.items():
            default = info.defaults[key]
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise MethodError(f"{self.verb} method {name!r}: {key} must be true or false, got {value!r}")
            elif isinstance(default, Real):
                if isinstance(value, bool) or not isinstance(value, Real):
                    raise MethodError(f"{self.verb} method {name!r}: {key} must be a number, got {value!r}")
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise MethodError(f"{self.verb} method {name!r}: {key} must be text, got {value!r}")
            out[key] = value
        if info.check is not None:
            try:
                info.check(out)
            except ValueError as e:
                raise MethodError(f"{self.verb} method {name!r}: {e}") from None
        return out
