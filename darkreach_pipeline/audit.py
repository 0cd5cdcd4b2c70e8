"""The integrity audit of finished blocks: is what is stored still what was computed?

Every audited block's four stage files are read and their checksums verified. A sample of blocks is also
re-derived from its stored inputs: every sieve factor claim re-checked, a few residues recomputed with
another library (verification/double_check.py), every certificate re-verified by the independent verifier
(proofs/certificate_check.py). A damaged block's files are moved aside to `<results>/_quarantine/` (kept, never
deleted): the block then counts as not finished, and `darkreach run`, the sensor or a backfill recomputes it.
Intact files written before checksums existed are sealed with one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from upath import UPath

from darkreach_pipeline.blocks import certificate_frame
from darkreach_pipeline.campaign import CampaignSpec, split_partition_key
from darkreach_pipeline.checks import (
    certificate_problems,
    factor_claim_problems,
    p_minus_1_problems,
    result_problems,
    sieve_coverage_problems,
    tested_once_problems,
)
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.integrity import (
    OPTIONAL_STAGES,
    STAGES,
    DamagedBlockError,
    block_path,
    identity,
    is_sealed,
    read_block,
    write_block,
)
from darkreach_pipeline.verification.double_check import FIRST_WRONG, UNRESOLVED, double_check_frame

SAMPLE_SHARE = 0.05  # blocks re-derived per audit, at least one
RESIDUES_PER_BLOCK = 2  # residues recomputed per re-derived block
QUARANTINE = "_quarantine"


@dataclass
class AuditReport:
    audited: list[str] = field(default_factory=list)  # block keys whose checksums were verified
    rederived: list[str] = field(default_factory=list)  # the sample re-derived from stored inputs
    damaged: dict[str, list[str]] = field(default_factory=dict)  # block key -> what is wrong
    quarantined: dict[str, str] = field(default_factory=dict)  # block key -> folder its files were moved to
    sealed: list[str] = field(default_factory=list)  # files without a checksum, given one

    def lines(self) -> list[str]:
        sample = ", ".join(self.rederived[:5]) + (", ..." if len(self.rederived) > 5 else "")
        out = [f"audited {len(self.audited)} finished blocks (checksums), re-derived {len(self.rederived)}"
               + (f" ({sample})" if sample else "") + f"; {len(self.damaged)} damaged"
               + (f", {len(self.sealed)} older files sealed" if self.sealed else "")]
        for key, problems in self.damaged.items():
            where = f"; files moved to {self.quarantined[key]}" if key in self.quarantined else ""
            out.append(f"  damaged {key}: {'; '.join(problems[:3])}{where}")
        return out


def rederive_problems(spec: CampaignSpec, block: int, frames: dict[str, pd.DataFrame], rng: random.Random,
                      residues: int = RESIDUES_PER_BLOCK) -> list[str]:
    """Re-derive a block's claims from its stored frames: coverage and every factor claim, the tested set and
    result fields, `residues` residues recomputed by another library, every certificate re-verified."""
    form = form_for(spec)
    sieved, results, certs = frames["sieve_survivors"], frames["prp_results"], frames["certificates"]
    problems = sieve_coverage_problems(spec, block, sieved) + factor_claim_problems(form, spec.axis, sieved)
    if "p_minus_1" in frames:  # a block finished before the P-1 stage has none: then the sieve's survivors were tested
        problems += p_minus_1_problems(form, spec.axis, sieved, frames["p_minus_1"])
        sieved = frames["p_minus_1"]
    problems += tested_once_problems(spec.axis, sieved, results) + result_problems(form, results)
    problems += certificate_problems(spec.axis, results, certs)
    if len(results):
        rows = results.iloc[sorted(rng.sample(range(len(results)), min(residues, len(results))))]
        checked = double_check_frame(spec, rows)
        for row in checked[checked["verdict"].isin([FIRST_WRONG, UNRESOLVED])].to_dict("records"):
            problems.append(f"{row['expression']}: stored RES64 {row['res64']}, recomputed {row['res64_second']} "
                            f"({row['second_library']})")
    again = certificate_frame(spec, results)
    stored = {int(v): (s, bool(ok)) for v, s, ok in zip(certs[spec.axis], certs["status"], certs["verified"],
                                                        strict=True)} if len(certs) else {}
    for row in again.to_dict("records"):
        value = int(row[spec.axis])
        if stored.get(value) != (row["status"], bool(row["verified"])):
            problems.append(f"{row['expression']}: stored certificate {stored.get(value)}, re-verified "
                            f"{(row['status'], bool(row['verified']))}")
    return problems


def quarantine_block(base: UPath, partition_key: str, stamp: str) -> str:
    """Move a block's stage files to `<base>/_quarantine/<stamp>/<asset>/<key>.parquet`; returns the folder."""
    folder = base / QUARANTINE / stamp
    for asset in STAGES + OPTIONAL_STAGES:
        path = block_path(base, asset, partition_key)
        if path.exists():
            target = block_path(folder, asset, partition_key)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    return str(folder)


def audit_blocks(spec: CampaignSpec, base_path: str, keys: Sequence[str], sample: int | None = None,
                 seed: str | int = 0, storage_options: dict | None = None, quarantine: bool = True) -> AuditReport:
    """Audit the finished blocks `keys` of one campaign (see the module docstring). sample: blocks to re-derive
    (default SAMPLE_SHARE of them, at least one); seed: makes the sample reproducible; quarantine: move a
    damaged block's files aside so that it is recomputed (False: report only)."""
    base = UPath(base_path, **(storage_options or {}))
    rng = random.Random(f"{spec.name}:{seed}")
    keys = list(keys)
    count = max(1, round(len(keys) * SAMPLE_SHARE)) if sample is None else sample
    chosen = set(rng.sample(keys, min(count, len(keys))))
    report = AuditReport()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for key in keys:
        report.audited.append(key)
        frames, problems, unsealed = {}, [], []
        for asset in STAGES + OPTIONAL_STAGES:
            path = block_path(base, asset, key)
            try:
                frames[asset] = read_block(path, identity(asset, key))
                with path.open("rb") as f:
                    if not is_sealed(f.read()):
                        unsealed.append(asset)
            except FileNotFoundError:
                if asset not in OPTIONAL_STAGES:
                    problems.append(f"{asset}: missing")
            except DamagedBlockError as exc:
                problems.append(f"{asset}: {exc.reason}" + (f" ({exc.detail[:120]})" if exc.detail else ""))
        if not problems and (key in chosen or unsealed):  # files without a checksum are re-derived before sealing
            report.rederived.append(key)
            problems = rederive_problems(spec, split_partition_key(key)[1], frames, rng)
        if problems:
            report.damaged[key] = problems
            if quarantine:
                report.quarantined[key] = quarantine_block(base, key, stamp)
            continue
        for asset in unsealed:
            write_block(block_path(base, asset, key), frames[asset], identity(asset, key))
            report.sealed.append(identity(asset, key))
    return report
