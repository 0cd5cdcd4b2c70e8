"""Volunteer computing: untrusted machines take units of work over HTTP (`darkreach serve` / `darkreach join`)."""
