"""Campaign specs: parsing, full validation, blocks and partition keys.

A campaign is validated completely before anything is written, so a mistake never leaves half a
campaign behind. Every error names the field and says what would be valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import FORMS, form_class
from darkreach_pipeline.forms.base import PrimeForm

# Matched with fullmatch only: `$` would also accept a trailing newline ("proth\n").
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
MAX_DESCRIPTION_CHARS = 2_000
MAX_FILE_BYTES = 1 << 20  # a campaign file is a few lines of TOML
SHOWN_CHARS = 80  # a value quoted in an error message is cut to this many characters
MAX_BLOCKS = 10_000
MAX_BLOCK_SIZE = 1_000_000
MAX_SIEVE_DEPTH = 2**32 - 1  # the sieve multiplies residues in uint64: p must stay below 2^32
MIN_SIEVE_DEPTH = 3
MAX_BLOCKS_PER_RUN = 1000  # a run holds its blocks' outputs in memory between steps
BLOCK_DIGITS = 6
COMMON_KEYS = ("name", "form", "block_size", "sieve_depth", "description", "blocks_per_run", "gpu", "p_minus_1",
               "p_minus_1_b1", "p_minus_1_b2")
P_MINUS_1_MODES = ("off", "auto", "fixed")
MIN_P_MINUS_1_B1 = 11  # stage 2's giant steps need the primes of D (up to 11) in stage 1
MAX_P_MINUS_1_B1 = 10**9
MAX_P_MINUS_1_B2 = 10**11


def shown(value: Any) -> str:
    """repr() of a value for an error message, cut short: a 10 MB field must not make a 10 MB message."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


def _int_field(raw: Mapping[str, Any], key: str, minimum: int | None = None) -> int:
    if key not in raw:
        raise CampaignError(key, "is missing")
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise CampaignError(key, f"must be a whole number, got {shown(value)}")
    if minimum is not None and value < minimum:
        raise CampaignError(key, f"must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class CampaignSpec:
    """One validated campaign: a form, its parameters, an inclusive range whose axis is cut into blocks.

    `range_key`, `range_min`, `range_max` are the campaign file's range; `axis_min`, `axis_max` the
    axis values it covers (the same numbers unless the axis is an index, as for palindromes).
    """

    name: str
    form: str
    params: dict[str, int]
    axis_min: int
    axis_max: int
    block_size: int
    sieve_depth: int
    sieve_depth_requested: str | int = "auto"
    description: str = ""
    range_key: str = "n"
    range_min: int = 0
    range_max: int = 0
    # How many blocks one Dagster run materialises (amortises a run's start-up); None: not set, `darkreach run`
    # chooses (batching.auto_blocks_per_run), other launchers run one block per run. An execution setting, not
    # part of the campaign's identity: not in definition() or the fingerprint, not compared, not registered.
    blocks_per_run: int | None = field(default=None, compare=False)
    # GPU-eligible: its runs' sieve and test steps go to GPU workers in fleet mode (gpu_routing.py). An
    # execution setting too, like blocks_per_run.
    gpu: bool = field(default=False, compare=False)
    # P-1 between the sieve and the tests (factoring/): "off" passes the survivors through, "auto" chooses bounds
    # per candidate size from the cost model. Part of the identity when on (it decides which numbers are tested);
    # "off" is left out of definition(), so campaigns registered before it keep their fingerprint.
    p_minus_1: str = "off"
    p_minus_1_bounds: tuple[int, int] | None = None  # (B1, B2) with p_minus_1 = "fixed"

    @property
    def axis(self) -> str:
        return form_class(self.form, self.range_key).axis

    @property
    def block_count(self) -> int:
        return -(-(self.axis_max - self.axis_min + 1) // self.block_size)

    def block_range(self, block: int) -> tuple[int, int]:
        """Half-open axis range [lo, hi) of one block: blocks tile the campaign exactly, no overlap."""
        if not 0 <= block < self.block_count:
            raise CampaignError(
                "block", f"block {block} does not exist in campaign '{self.name}' (0..{self.block_count - 1})"
            )
        lo = self.axis_min + block * self.block_size
        return lo, min(lo + self.block_size, self.axis_max + 1)

    def partition_key(self, block: int) -> str:
        self.block_range(block)
        return f"{self.name}/{block:0{BLOCK_DIGITS}d}"

    def partition_keys(self) -> list[str]:
        return [self.partition_key(b) for b in range(self.block_count)]

    def definition(self) -> dict[str, Any]:
        """Everything that decides which numbers are tested and how: the identity of a campaign."""
        return {
            "name": self.name,
            "form": self.form,
            **self.params,
            f"{self.range_key}_min": self.range_min,
            f"{self.range_key}_max": self.range_max,
            "block_size": self.block_size,
            "sieve_depth": self.sieve_depth,
            **({"p_minus_1": self.p_minus_1} if self.p_minus_1 != "off" else {}),
            **(dict(zip(("p_minus_1_b1", "p_minus_1_b2"), self.p_minus_1_bounds, strict=True))
               if self.p_minus_1_bounds else {}),
        }

    def fingerprint(self) -> str:
        text = json.dumps(self.definition(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_toml(self) -> str:
        lines = []
        for key, value in {**self.definition(), "sieve_depth": self.sieve_depth_requested}.items():
            lines.append(f"{key} = {json.dumps(value)}")
        if self.description:
            lines.append(f"description = {json.dumps(self.description)}")
        if self.blocks_per_run is not None:
            lines.append(f"blocks_per_run = {self.blocks_per_run}")
        if self.gpu:
            lines.append("gpu = true")
        return "\n".join(lines) + "\n"


def parse_campaign(raw: Mapping[str, Any]) -> CampaignSpec:
    """Validate a campaign mapping (from TOML or run config) into a spec, or raise CampaignError."""
    if not isinstance(raw, Mapping):
        raise CampaignError("<file>", "must be a table of key = value pairs")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise CampaignError(
            "name",
            f"{shown(name)} is not a safe partition-key prefix: use 1-63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit (no '/', ',', '.' or spaces)",
        )
    form_name = raw.get("form")
    if not isinstance(form_name, str) or form_name not in FORMS:
        raise CampaignError("form", f"unknown form {shown(form_name)}; valid forms: {', '.join(sorted(FORMS))}")
    form_cls = form_variant(form_name, raw)
    key = form_cls.campaign_range_key()
    allowed = set(COMMON_KEYS) | set(form_cls.param_names) | {f"{key}_min", f"{key}_max"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise CampaignError(unknown[0], f"is not a field of form '{form_name}'; valid fields: {sorted(allowed)}")

    params = {p: _int_field(raw, p) for p in form_cls.param_names}
    range_min = _int_field(raw, f"{key}_min", minimum=0)
    range_max = _int_field(raw, f"{key}_max", minimum=0)
    if range_min > range_max:
        raise CampaignError(
            f"{key}_min", f"{key}_min = {range_min} is greater than {key}_max = {range_max}; swap them"
        )
    form_cls.validate(params, range_min, range_max)
    axis_min, axis_max = form_cls.axis_bounds(params, range_min, range_max)
    if axis_min > axis_max:
        raise CampaignError(f"{key}_min", f"{key} = {range_min}..{range_max} holds no candidates of this form")

    block_size = _int_field(raw, "block_size", minimum=1)
    if block_size > MAX_BLOCK_SIZE:
        raise CampaignError("block_size", f"must be <= {MAX_BLOCK_SIZE}, got {block_size}")
    blocks = -(-(axis_max - axis_min + 1) // block_size)
    if blocks > MAX_BLOCKS:
        need = -(-(axis_max - axis_min + 1) // MAX_BLOCKS)
        raise CampaignError(
            "block_size",
            f"the range {form_cls.axis} = {axis_min}..{axis_max} makes {blocks} blocks of {block_size}, over the "
            f"limit of {MAX_BLOCKS} blocks per campaign; use block_size >= {need} or split the range into campaigns",
        )

    requested = raw.get("sieve_depth", "auto")
    if requested == "auto":
        depth = form_cls.auto_sieve_depth(params, axis_min, axis_max, block_size)
    else:
        depth = _int_field(raw, "sieve_depth", minimum=MIN_SIEVE_DEPTH)
        if depth > MAX_SIEVE_DEPTH:
            raise CampaignError("sieve_depth", f"must be <= {MAX_SIEVE_DEPTH} (or \"auto\"), got {depth}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise CampaignError("description", "must be a string")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise CampaignError("description", f"has {len(description)} characters, over the limit of "
                            f"{MAX_DESCRIPTION_CHARS}; shorten it (longer notes belong in a file of their own)")
    blocks_per_run = _int_field(raw, "blocks_per_run", minimum=1) if "blocks_per_run" in raw else None
    if blocks_per_run is not None and blocks_per_run > MAX_BLOCKS_PER_RUN:
        raise CampaignError("blocks_per_run", f"must be <= {MAX_BLOCKS_PER_RUN}, got {blocks_per_run}")
    gpu = raw.get("gpu", False)
    if not isinstance(gpu, bool):
        raise CampaignError("gpu", f"must be true or false (GPU-eligible blocks go to GPU workers), got {gpu!r}")
    p_minus_1, p_minus_1_bounds = _p_minus_1(raw)
    return CampaignSpec(
        name=name,
        form=form_name,
        params=params,
        axis_min=axis_min,
        axis_max=axis_max,
        block_size=block_size,
        sieve_depth=max(MIN_SIEVE_DEPTH, min(depth, MAX_SIEVE_DEPTH)),
        sieve_depth_requested=requested,
        description=description,
        range_key=key,
        range_min=range_min,
        range_max=range_max,
        blocks_per_run=blocks_per_run,
        gpu=gpu,
        p_minus_1=p_minus_1,
        p_minus_1_bounds=p_minus_1_bounds,
    )


def _p_minus_1(raw: Mapping[str, Any]) -> tuple[str, tuple[int, int] | None]:
    """The P-1 mode and, for "fixed", its bounds (B1, B2)."""
    mode = raw.get("p_minus_1", "off")
    if mode not in P_MINUS_1_MODES:
        raise CampaignError("p_minus_1", f"must be \"off\" (no P-1 stage), \"auto\" (P-1 bounds chosen per candidate "
                            "size where they save more test time than they cost) or \"fixed\" (the bounds "
                            f"p_minus_1_b1 and p_minus_1_b2), got {shown(mode)}")
    if mode != "fixed":
        for key in ("p_minus_1_b1", "p_minus_1_b2"):
            if key in raw:
                raise CampaignError(key, f"applies only with p_minus_1 = \"fixed\" (p_minus_1 is {shown(mode)}): "
                                    "set p_minus_1 = \"fixed\" or remove it")
        return mode, None
    b1 = _int_field(raw, "p_minus_1_b1", minimum=MIN_P_MINUS_1_B1)
    if b1 > MAX_P_MINUS_1_B1:
        raise CampaignError("p_minus_1_b1", f"must be <= {MAX_P_MINUS_1_B1}, got {b1}")
    b2 = _int_field(raw, "p_minus_1_b2", minimum=b1)
    if b2 > MAX_P_MINUS_1_B2:
        raise CampaignError("p_minus_1_b2", f"must be <= {MAX_P_MINUS_1_B2}, got {b2}")
    return mode, (b1, b2)


def form_variant(form_name: str, raw: Mapping[str, Any]) -> type[PrimeForm]:
    """The variant of the form whose range keys the file uses (e.g. twin over n or over k)."""
    variants = FORMS[form_name]
    for cls in variants:
        if f"{cls.campaign_range_key()}_min" in raw or f"{cls.campaign_range_key()}_max" in raw:
            return cls
    keys = " or ".join(f"{c.campaign_range_key()}_min/{c.campaign_range_key()}_max" for c in variants)
    raise CampaignError(f"{variants[0].campaign_range_key()}_min", f"is missing: form '{form_name}' needs {keys}")


def read_campaign_file(path: str | Path) -> bytes:
    """A campaign file's bytes. Anything that is not a readable regular file of at most MAX_FILE_BYTES (a
    directory named *.toml, a FIFO, a file removed meanwhile, no permission) is a CampaignError naming the
    file, the reason and the fix, never an OSError: the sensor skips that file, the CLI exits 2. Opened
    without blocking, so a FIFO in the watched folder cannot hang the sensor."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise CampaignError("<file>", f"{path} does not exist (or was removed before it could be read)") from None
    except PermissionError:
        raise CampaignError("<file>", f"{path} cannot be read: permission denied; make it readable by the user "
                            "running darkreach (chmod a+r)") from None
    except OSError as exc:
        raise CampaignError("<file>", f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise CampaignError("<file>", f"{path} is a directory, not a campaign file; rename or move it")
        if not stat.S_ISREG(mode):
            raise CampaignError("<file>", f"{path} is not a regular file; a campaign file is a TOML text file")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES and (chunk := os.read(fd, MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise CampaignError("<file>", f"{path} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise CampaignError("<file>", f"{path} is larger than {MAX_FILE_BYTES} bytes; a campaign file is a few "
                            "lines of TOML (README: 'Campaign files')")
    return b"".join(chunks)


def parse_campaign_bytes(data: bytes, source: str | Path) -> CampaignSpec:
    """Validate the bytes of a campaign file (UTF-8 TOML); `source` names it in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CampaignError("<file>", f"{source} is not UTF-8 text (invalid byte at offset {exc.start}); "
                            "a campaign file is TOML saved as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError("<file>", f"{source} is not valid TOML: {exc}") from None
    return parse_campaign(raw)


def load_campaign(path: str | Path) -> CampaignSpec:
    return parse_campaign_bytes(read_campaign_file(path), path)


def split_partition_key(key: str) -> tuple[str, int]:
    """'<campaign>/<block:06d>' -> (campaign, block); a malformed key gets a clear error."""
    name, sep, block = key.rpartition("/")
    if (not sep or not NAME_PATTERN.fullmatch(name) or not (block.isascii() and block.isdigit())
            or len(block) != BLOCK_DIGITS):
        raise CampaignError(
            "partition_key", f"{shown(key)} is not a block key; expected '<campaign>/<block>', e.g. 'quickstart/000003'"
        )
    return name, int(block)
