"""GIVEN the job fails, WHEN Glue reports why (the job run's ErrorMessage, which reaches the
orchestration's execution history, its logs and the alarm e-mail), THEN no lead's value is in it: the
script's own messages go on, any other error goes on as its type and is printed whole to the job's
(encrypted) error log."""
from __future__ import annotations

import pytest

import filter_leads as fl

MARKER = "jane.marker@example.com"


def _raised(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the test inspects whatever it is
        return error
    raise AssertionError("nothing raised")


def test_a_message_of_the_script_itself_goes_on_unchanged():
    error = _raised(lambda: fl.parse_args(["--run_id", "bad id"]))
    assert fl.without_row_values(error) is error


def test_an_error_of_spark_or_a_library_goes_on_without_its_message(capsys):
    def spark_cast_failure():
        raise RuntimeError(f"[CAST_INVALID_INPUT] The value '{MARKER}' cannot be cast to TIMESTAMP")
    error = _raised(spark_cast_failure)

    safe = fl.without_row_values(error)

    assert isinstance(safe, fl.JobFailed) and MARKER not in str(safe)
    assert "RuntimeError" in str(safe)
    assert MARKER in capsys.readouterr().err, "the whole error is in the job's error log"


def test_a_builtin_failing_on_a_value_inside_the_script_goes_on_without_its_message():
    # int() on a lead's value, compiled as a line of filter_leads.py that is no raise statement
    code = compile(f"int({MARKER!r})", fl.__file__, "exec")
    error = _raised(lambda: exec(code, {}))
    assert MARKER in str(error)

    assert MARKER not in str(fl.without_row_values(error))


def test_main_fails_with_the_safe_error(monkeypatch):
    monkeypatch.setattr(fl, "parse_args", lambda argv: (_ for _ in ()).throw(ValueError(f"bad {MARKER}")))
    with pytest.raises(fl.JobFailed) as failed:
        fl.main([])
    assert MARKER not in str(failed.value)
