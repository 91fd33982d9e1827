"""Hostile input for the KDC: seeded generators, a runner against a live has-server,
and coverage-guided targets for atheris. See tests/fuzz/README.md."""
