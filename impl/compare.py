"""``python -m impl.compare``: the Stage A compare wrapper (in :mod:`impl.study.compare`)."""

from impl.study.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
