"""Factoring stages between the sieve and the PRP test (P-1 today): they remove composites whose factors are
too large for the sieve but cheaper to find than a test costs."""
