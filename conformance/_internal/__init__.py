"""The harness's private machinery: nothing here is public API.

- :mod:`~conformance._internal.wire`: the data format observations cross processes in;
- :mod:`~conformance._internal.host`, :mod:`~conformance._internal.worker`,
  :mod:`~conformance._internal.serve`, :mod:`~conformance._internal.session`: the warm host
  process that forks one worker per property, and the session that keeps it;
- :mod:`~conformance._internal.stop`: Ctrl-C and SIGTERM during a run;
- :mod:`~conformance._internal.causes`: root causes, the failures others follow from;
- :mod:`~conformance._internal.compat`: the harness's one home for torch-version shims.
"""
