"""``python -m impl.runner``: the Stage A study runner (in :mod:`impl.study.runner`)."""

from impl.study.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
