"""Service settings: ``MODERATION_*`` environment variables, overridden by ``moderation serve``
options, validated once at start so a bad value stops the service with a message, not later.
The scoring settings among them become the service's :class:`ScoringConfig` (``scoring``), the
same object ``moderation score`` builds from its options."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from moderation.backends import default_backend
from moderation.errors import ConfigError
from moderation.export import CACHE_ENV
from moderation.modeldir import default_model_dir
from moderation.scoring_config import BACKENDS, PRECISIONS, ScoringConfig
from serve.schemas import MAX_BATCH_ITEMS

ENV_PREFIX = "MODERATION_"
# Settings renamed with their old names still read: old name -> new name.
STILL_READ = {f"{ENV_PREFIX}FORWARD_BATCH": f"{ENV_PREFIX}BATCH_SIZE"}


def _comma_list(value: Any) -> Any:
    # Lists come from the environment as "a,b,c" (JSON would be awkward in a shell).
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True,
                                      validate_by_name=True)

    model: Path | None = Field(None, description="model directory (default: models/default)")
    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="port to listen on (0: any free port)")
    workers: int = Field(1, ge=1, le=64, description="processes, each with its own copy of the model")
    backend: str = Field(default_factory=default_backend, pattern=f"^({'|'.join(BACKENDS)})$",
                         description="where the model runs: onnx (ONNX Runtime; the default where "
                         "installed) or torch (the reference)")
    precision: str = Field("int8", pattern=f"^({'|'.join(PRECISIONS)})$",
                           description="onnx backend weights")
    threads: int | None = Field(None, ge=1, description="model threads per process (default: the "
                                "cores per process; with torch, less one, left to the HTTP side)")
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug)$")
    access_log: bool = Field(True, description="one line per request: method, route, status, time")

    # Micro-batching: texts from concurrent requests share one model call.
    max_batch: int = Field(32, ge=1, le=1024, description="texts per model call")
    # The scorer sorts a call's windows by length and pads within each forward pass; on CPU,
    # passes of a few windows waste less on padding than one wide pass (measured: 8 beat 32).
    # Called forward_batch (MODERATION_FORWARD_BATCH) before it took the name of `moderation
    # score --batch-size`; the old variable is still read.
    batch_size: int = Field(8, ge=1, le=1024, description="windows per forward pass",
                            validation_alias=AliasChoices(f"{ENV_PREFIX}BATCH_SIZE",
                                                          f"{ENV_PREFIX}FORWARD_BATCH"))
    # Measured on 2 shared cores with the default model: some 20,000 characters a second,
    # whatever the batch size, so this bounds a call, and what a small request waits behind a
    # big one, to about 0.4 s.
    max_batch_chars: int = Field(8192, ge=1, description="characters per model call (a longer "
                                 "text goes alone)")
    max_wait_ms: float = Field(2.0, ge=0, le=1000, description="how long a model call waits for company")
    max_queue: int = Field(16384, ge=1, description="texts waiting for the model before 503")
    probe_timeout_s: float = Field(10.0, gt=0, description="how long /readyz waits for its probe")
    ready_cache_s: float = Field(5.0, ge=0, description="how long /readyz answers with its last probe")

    # Input limits.
    # Characters, as the model's cost goes (some 20,000 a second on 2 cores): a text at the
    # limit holds the model for about a second. Longer texts are refused (413), never cut: the
    # part left out could be the part that matters.
    max_text_chars: int = Field(20000, ge=1, description="longest text scored, in characters")
    # One comment and its context, even from a client that escapes every character (\uXXXX).
    max_score_body_bytes: int = Field(512 * 1024, ge=1024, description="largest body of /v1/score "
                                      "and the Perspective route")
    # A full batch (256 texts of a few thousand characters) must fit in a body.
    max_body_bytes: int = Field(6 * 1024 * 1024, ge=1024, description="largest body of the other JSON routes")
    max_upload_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="largest /v1/threads upload")
    max_thread_comments: int = Field(10000, ge=1, description="most comments one upload may hold")
    # Reading and parsing an upload peaks at about three times its size (31 MB of JSON: 95 MB);
    # uploads past this many wait their turn unread, so memory stays bounded however many come.
    # Parsing holds the interpreter lock, so one at a time costs little time: four 31 MB uploads
    # at once peaked 126 MB over the idle server with 1, 240 MB with 2.
    max_uploads: int = Field(1, ge=1, description="uploads read and parsed at once")

    # Connections: slow or idle clients must not hold them (see serve/protocol.py).
    max_connections: int = Field(1000, ge=1, description="connections and requests a worker holds "
                                 "at once; past it, new requests get 503 (uvicorn's limit_concurrency)")
    keep_alive_s: int = Field(5, ge=1, description="how long an idle connection stays open between requests")
    header_timeout_s: float = Field(10.0, gt=0, description="how long a request's headers may take to "
                                    "arrive, from the connection or the previous answer")
    body_timeout_s: float = Field(60.0, gt=0, description="how long a request's body may take to "
                                  "arrive, once the service starts reading it")
    max_header_bytes: int = Field(16384, ge=1024, description="largest request line and headers")

    # Access.
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="accepted API keys, comma-separated (none: open)")
    api_keys_file: Path | None = Field(None, description="file of API keys, one per line")
    rate_limit: float = Field(0.0, ge=0, description="texts per second per key (0: no limit)")
    rate_burst: int = Field(20, ge=1, description="texts a key may send at once before the limit")
    auth_failures: int = Field(10, ge=0, description="wrong API keys an address may send per window "
                               "before 429 (0: no limit)")
    auth_failure_window_s: float = Field(60.0, gt=0, description="the window of auth_failures, in seconds")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed by CORS, comma-separated (none: CORS off)")

    # Decisions (moderation.policy) and Perspective compatibility.
    policy: Path | None = Field(None, description="policy TOML: review/reject thresholds per label "
                                "and per community (default: review at the model's thresholds)")
    reject_at: float | None = Field(None, gt=0, le=1, description="without a policy file: reject when a "
                                    "group's headline label reaches this (default: never reject)")
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en"], min_length=1, description="languages the model is meant for")

    # Feedback (moderation.feedback).
    feedback_file: Path | None = Field(None, description="JSONL file that POST /v1/feedback and "
                                       "Perspective's comments:suggestscore append moderators' "
                                       "verdicts to, in the format moderation train reads "
                                       "(none: both routes answer 404)")

    _keys: frozenset[str] = PrivateAttr(default_factory=frozenset)
    _scoring: ScoringConfig = PrivateAttr(default_factory=ScoringConfig)

    _split = field_validator("api_keys", "cors_origins", "languages", mode="before")(_comma_list)

    @model_validator(mode="after")
    def _read_keys(self) -> Settings:
        keys = set(self.api_keys)
        if self.api_keys_file is not None:
            try:
                lines = self.api_keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ValueError(f"api_keys_file {self.api_keys_file}: {exc.strerror or exc}") from None
            file_keys = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
            if not file_keys:
                raise ValueError(f"api_keys_file {self.api_keys_file}: holds no key")
            keys |= file_keys
        self._keys = frozenset(keys)
        return self

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        # A request holding more texts than the queue can never be scored: it would get a 503
        # and its client would retry for ever.
        for what, most in ((f"{ENV_PREFIX}MAX_THREAD_COMMENTS ({self.max_thread_comments})",
                            self.max_thread_comments),
                           (f"a batch's {MAX_BATCH_ITEMS} items", MAX_BATCH_ITEMS)):
            if most > self.max_queue:
                raise ValueError(f"{ENV_PREFIX}MAX_QUEUE ({self.max_queue}) is less than {what}: such "
                                 "a request could never be queued; raise it")
        return self

    @model_validator(mode="after")
    def _scoring_config(self) -> Settings:
        # The scoring settings check themselves (ScoringConfig); a problem stops the start.
        try:
            self._scoring = ScoringConfig(model=self.model_dir, backend=self.backend,
                                          precision=self.precision, threads=self.model_threads,
                                          batch_size=self.batch_size, policy=self.policy)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def scoring(self) -> ScoringConfig:
        """How the service scores: model, backend, precision, threads, batch size, policy."""
        return self._scoring

    @property
    def keys(self) -> frozenset[str]:
        """Every accepted API key; empty when the service is open."""
        return self._keys

    @property
    def model_threads(self) -> int:
        # Measured on 2 cores with one worker (bench/load_test.py): torch answered single
        # comments faster leaving a core to the event loop (its threads spin against it), ONNX
        # Runtime faster with every core (8 clients: p99 97 ms with 2 threads, 220 ms with 1).
        if self.threads is not None:
            return self.threads
        cores = max(1, (os.cpu_count() or 2) // self.workers)
        return cores if self.backend == "onnx" else max(1, cores - 1)

    @property
    def model_dir(self) -> Path:
        return self.model if self.model is not None else default_model_dir()


# Settings that were renamed, with their new names.
RENAMED = {f"{ENV_PREFIX}MAX_TEXT_BYTES": f"{ENV_PREFIX}MAX_TEXT_CHARS"}


def _known_environment() -> set[str]:
    # The export cache is the library's setting, read by the service too.
    return ({f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields} | {CACHE_ENV}
            | set(STILL_READ))


def unknown_environment() -> list[str]:
    """``MODERATION_*`` variables that name no setting (a misspelling is otherwise silent)."""
    known = _known_environment()
    return sorted(name for name in os.environ if name.startswith(ENV_PREFIX) and name not in known)


def likely_setting(name: str) -> str | None:
    """The variable an unknown one most likely meant: its new name, else the closest spelling."""
    if name in RENAMED:
        return RENAMED[name]
    close = difflib.get_close_matches(name, sorted(_known_environment()), n=1, cutoff=0.85)
    return close[0] if close else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``overrides``; a ConfigError naming each bad value."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{_variable(name)}: {message}" if name else message)
        raise ConfigError("invalid service settings: " + "; ".join(problems)) from None


def _variable(name: str) -> str:
    """The environment variable of setting ``name``: the old one, if that is what gave it."""
    variable = name.upper() if name.upper().startswith(ENV_PREFIX) else f"{ENV_PREFIX}{name.upper()}"
    for old, new in STILL_READ.items():
        if new == variable and new not in os.environ and old in os.environ:
            return old
    return variable
