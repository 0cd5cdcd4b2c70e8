"""Modular arithmetic for the engine's chains: GMP, or FFT transforms from ~tens of thousands of bits.

`base.ModularArithmetic` is the interface, `fft_backend` the swappable FFT library, `select.arithmetic_for`
picks an implementation per modulus. No Dagster here.
"""

from darkreach_pipeline.arith.base import ArithStats, ModularArithmetic, Residue, RoundoffError

__all__ = ["ArithStats", "ModularArithmetic", "Residue", "RoundoffError"]
