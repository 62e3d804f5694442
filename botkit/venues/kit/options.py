"""A venue's ``venue.options``: one typed, validated object per adapter.

Every adapter takes its options as a pydantic model: :class:`VenueOptions`
holds what every adapter has, and each venue subclasses it with its own fields
(and its own defaults, e.g. its documented rate limit)::

    class ExampleOptions(VenueOptions):
        min_request_interval_s: float = Field(0.5, ge=0)  # "2 private calls a second"
        account_id: int | None = None
        bearer_token: SecretOption | None = None

The venue's ``SPEC`` names the model (``options="botkit.venues.example.options:ExampleOptions"``)
so that bot.yaml is checked when it is loaded, and its adapter reads it with
``ExampleOptions.load(connection.options, venue="example")``.

* Unknown keys are refused (``extra="forbid"``): a misspelled option is an
  error, never silently ignored.
* A bad value is one ``ValueError`` naming each bad option
  (``example venue.options.request_timeout_s: Input should be greater than 0``),
  never echoing the value: it may be a secret.
* The config wraps the values of secret-named keys (``bearer_token``,
  ``*_secret``...) in ``botkit.redact.Secret``. A field typed ``SecretOption``
  keeps them wrapped (a plain string is wrapped too) until the one place that
  sends it calls ``reveal()``; any other field unwraps a ``Secret`` it is
  given, since it is not a secret by this venue's schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from botkit.redact import Secret

__all__ = ["SecretOption", "VenueOptions"]


def _secret(value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("expected a string")


# A secret option: held as ``Secret`` (shown as ***), revealed only where it is used.
SecretOption = Annotated[
    Secret, BeforeValidator(_secret), PlainSerializer(lambda s: str(s), return_type=str)
]


class VenueOptions(BaseModel):
    """The options every adapter has; a venue subclasses this with its own.

    ``request_timeout_s``: the whole HTTP request, connect to last byte.
    ``min_request_interval_s``: the venue's documented minimum spacing of
    private calls (0 when it documents none); the gateway's rate limiter and the
    signed-call spacing both read it. ``rate_margin``: the fraction added to
    that spacing, so that calls are never spaced at exactly the limit (clock
    jitter and network reordering would then break it now and then).
    ``id_memory``: how many client id <-> venue order id pairs are remembered.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, validate_default=True
    )

    request_timeout_s: float = Field(10.0, gt=0, le=600)
    min_request_interval_s: float = Field(0.0, ge=0, le=60)
    rate_margin: float = Field(0.1, ge=0, le=1)
    id_memory: int = Field(50_000, ge=100)

    @model_validator(mode="before")
    @classmethod
    def _unwrap_plain_secrets(cls, data: Any) -> Any:
        """Unwrap ``Secret`` values of fields that are not secrets by this schema."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if isinstance(value, Secret) and field is not None and not _is_secret(field):
                out[name] = value.reveal()
        return out

    @property
    def spacing_s(self) -> float:
        """The spacing to keep between private calls: the documented one plus the margin."""
        return self.min_request_interval_s * (1 + self.rate_margin)

    @classmethod
    def load(cls, options: Mapping[str, Any] | None, venue: str = "") -> Self:
        """The options from ``venue.options``; a clear ``ValueError`` names each bad one."""
        try:
            return cls.model_validate(dict(options or {}))
        except ValidationError as err:
            raise ValueError(_describe(err, venue)) from None


def _is_secret(field: Any) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is _secret for m in field.metadata)


def _describe(err: ValidationError, venue: str) -> str:
    """One line per bad option, without its value (it may be a secret)."""
    prefix = f"{venue} venue.options" if venue else "venue.options"
    lines = []
    for e in err.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in e["loc"]) or "<options>"
        message = "unknown option" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"{prefix}.{where}: {message}")
    return "; ".join(lines)
