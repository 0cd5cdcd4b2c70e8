"""ECPP (Atkin-Morain) primality certificates from PARI/GP, and their independent re-check.

primecert(N) builds the chain of elliptic curves; primecertisvalid(cert) re-checks every step
(curve order, point order, the size condition) down to a prime below 2^64. The certificate is
stored as PARI's own printed form, a nested list of integers ("[[N, t, s, a4, [x, y]], ...]"),
which PARI reads back; the verifier accepts nothing but digits, brackets, commas, spaces and
minus signs, so a stored certificate can never run GP code.

Cost (measured here, PARI 2.15, one core): 100 digits 0.2 s, 200 digits 0.6 s, 300 digits 1.7 s
to build; re-checking is ~10x cheaper. Above ECPP_MAX_DIGITS the forms label probable primes.
cypari2 is imported on first use: every process loads the form registry, few need PARI (and cypari2
installs process-wide signal handlers when imported).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from gmpy2 import mpz

from darkreach_pipeline.primality.fermat import fermat_screen
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME, TestOutcome
from darkreach_pipeline.primality.prp import is_bpsw_probable_prime

if TYPE_CHECKING:
    import cypari2

ECPP_MAX_DIGITS = 300  # 1.7 s per proof here; the forms stop proving (and say so) above it
CERTIFICATE_TEXT = re.compile(r"^[\[\]0-9, \-]+$")
PARI_STACK_MAX = 2**30  # primecert of ~300 digits needs far more than PARI's 8 MB default


@functools.cache
def _pari() -> cypari2.Pari:
    import cypari2

    pari = cypari2.Pari()
    pari.default("debugmem", 0)  # no stack-growth warnings on stderr
    if int(pari.default("parisizemax")) < PARI_STACK_MAX:
        pari.default("parisizemax", PARI_STACK_MAX)
    return pari


def _pari_error() -> type[Exception]:
    from cypari2 import PariError

    return PariError


def ecpp_certificate(N: int | mpz) -> str | None:
    """PARI's ECPP certificate of N as text, or None when PARI finds N composite, fails, or N < 2^64
    (PARI gives no curve chain there: those are proven by the deterministic test instead)."""
    pari = _pari()
    try:
        cert = pari.primecert(int(N))
    except _pari_error():  # out of stack or time: no proof, the caller labels a probable prime
        return None
    if cert.type() != "t_VEC" or len(cert) == 0:
        return None
    return str(cert)


def verify_ecpp(N: int | mpz, text: object) -> tuple[bool, str]:
    """Is `text` a valid ECPP certificate for exactly this N? PARI's primecertisvalid re-checks each step."""
    if not isinstance(text, str) or not CERTIFICATE_TEXT.match(text):
        return False, "the ECPP certificate is not a list of integers"
    pari = _pari()
    try:
        cert = pari(text)
        if cert.type() != "t_VEC" or len(cert) == 0 or cert[0].type() != "t_VEC" or len(cert[0]) != 5:
            return False, "the ECPP certificate is not a chain of [N, t, s, a4, [x, y]] steps"
        if int(cert[0][0]) != int(N):
            return False, f"the ECPP certificate is for {cert[0][0]}, not for this number"
        valid = bool(pari.primecertisvalid(cert))
    except _pari_error() as exc:
        return False, f"PARI could not read the ECPP certificate: {exc}"
    if not valid:
        return False, "primecertisvalid rejects the ECPP certificate"
    return True, f"ECPP certificate of {len(cert)} steps accepted by PARI's primecertisvalid"


def prp_then_ecpp(N: mpz, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
    """The test of a number with no special shape (palindromes, near-repdigits): deterministic below 2^64; else
    Fermat base 3 (Gerbicz-checked, its RES64 recorded), strong BPSW, then an ECPP proof up to ECPP_MAX_DIGITS
    or a labelled PRP."""
    outcome, residue, checked = fermat_screen(N, options=options)
    if outcome is not None:
        return outcome
    if not is_bpsw_probable_prime(N):
        return TestOutcome(COMPOSITE, "bpsw", residue, **checked)
    if N < mpz(10) ** ECPP_MAX_DIGITS:  # at most ECPP_MAX_DIGITS digits
        certificate = ecpp_certificate(N)
        if certificate is not None:
            return TestOutcome(PRIME, "ecpp", residue, certificate={"method": "ecpp", "certificate": certificate},
                               **checked)
    return TestOutcome(PROBABLE_PRIME, "fermat-3+bpsw", residue,
                       certificate={"method": "prp", "tests": ["fermat-3", "strong-bpsw"]}, **checked)
