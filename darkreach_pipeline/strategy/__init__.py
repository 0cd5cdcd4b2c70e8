"""The strategist: which campaigns to run (density model, costs, ranked plans), what the primes found say
about them (feedback), how the fleet is doing (advisor) and what to say when a prime is verified (announcer).

Every number it prints comes from a model whose inputs it can show: the forms' sieve weights, the engine's
cost model and a dated snapshot of the prime lists. Nothing here imports Dagster.
"""
