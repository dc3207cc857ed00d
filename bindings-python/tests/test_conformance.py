"""Every case of the shared conformance/cases.json, plus the published known answers."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest

import fluxora_webhooks as fw
from conftest import body_bytes, load_cases

DOCUMENT = load_cases()
DEFAULTS = DOCUMENT["defaults"]


def _verifier(config: Dict[str, Any], replay: Optional[Dict[str, Any]]) -> fw.Verifier:
    replay = {**DEFAULTS["replay"], **(replay or {})}
    return fw.Verifier(
        config["secret"],
        previous_secret=config.get("previous_secret"),
        previous_secret_rotated_at=config.get("previous_secret_rotated_at"),
        grace_window_seconds=config.get("grace_window_seconds", DEFAULTS["grace_window_seconds"]),
        tolerance_seconds=config.get("tolerance_seconds", DEFAULTS["tolerance_seconds"]),
        max_body_bytes=config.get("max_body_bytes", DEFAULTS["max_body_bytes"]),
        replay_store=fw.MemoryReplayStore(
            capacity=replay["capacity"],
            delivery_retention_seconds=replay["delivery_retention_seconds"],
        ),
    )


def _run(verifier: fw.Verifier, delivery: Dict[str, Any]) -> fw.Verification:
    headers = delivery["headers"]
    return verifier.verify(
        body_bytes(delivery["body"]),
        delivery_id=headers["delivery_id"],
        timestamp=headers["timestamp"],
        signature=headers["signature"],
        now=delivery["now"],
    )


def _has_secret(case: Dict[str, Any]) -> bool:
    return bool(case["config"].get("secret"))


# The secret-less cases answer `missing_secret` only through the one-call `verify`: a
# `Verifier` refuses to be built without a secret (a SettingsError, tested below).
SIGNED_CASES = [c for c in DOCUMENT["signature_cases"] if _has_secret(c)]
SECRETLESS_CASES = [c for c in DOCUMENT["signature_cases"] if not _has_secret(c)]
STATELESS_CASES = [c for c in DOCUMENT["signature_cases"] if "prior" not in c]


def test_the_file_has_cases() -> None:
    assert len(DOCUMENT["signature_cases"]) >= 90
    assert len(DOCUMENT["decimal_cases"]) >= 40
    assert len(DOCUMENT["header_cases"]) >= 15
    assert len(DOCUMENT["settings_cases"]) >= 20
    assert len(DOCUMENT["reservation_cases"]) >= 8
    # Every outcome is covered: `delivery_in_progress` only arises between a reservation and
    # its commit or release, so the reservation cases hold it.
    reservation_codes = {
        step["expect"]["code"] for case in DOCUMENT["reservation_cases"] for step in case["steps"]
        if isinstance(step["expect"], dict)
    }
    signature_codes = {c["expect"]["code"] for c in DOCUMENT["signature_cases"]}
    assert signature_codes | reservation_codes == set(fw.OUTCOME_CODES)
    assert fw.DELIVERY_IN_PROGRESS in reservation_codes
    assert SECRETLESS_CASES and all(c["expect"]["code"] == fw.MISSING_SECRET for c in SECRETLESS_CASES)


@pytest.mark.parametrize("case", SIGNED_CASES, ids=[c["name"] for c in SIGNED_CASES])
def test_signature_case(case: Dict[str, Any]) -> None:
    verifier = _verifier(case["config"], case.get("replay"))
    for index, prior in enumerate(case.get("prior", [])):
        assert _run(verifier, prior).code == prior["expect_code"], f"prior #{index}"
    result = _run(verifier, case)
    expect = case["expect"]
    assert (result.code, result.status, result.message) == (
        expect["code"],
        expect["status"],
        expect["message"],
    )
    assert result.ok is (expect["code"] == "ok")
    if "used_previous_secret" in expect:
        assert result.used_previous_secret is expect["used_previous_secret"]


@pytest.mark.parametrize("case", SECRETLESS_CASES, ids=[c["name"] for c in SECRETLESS_CASES])
def test_a_verifier_without_a_secret_is_a_settings_error(case: Dict[str, Any]) -> None:
    with pytest.raises(fw.SettingsError) as raised:
        _verifier(case["config"], case.get("replay"))
    assert (raised.value.field, raised.value.problem) == ("secret", "missing")
    assert not isinstance(raised.value, TypeError)


@pytest.mark.parametrize("case", STATELESS_CASES, ids=[c["name"] for c in STATELESS_CASES])
def test_signature_case_through_headers_and_one_call_verify(case: Dict[str, Any]) -> None:
    """The same answers through a headers mapping (mixed case) and the one-call form."""
    config = case["config"]
    expect = case["expect"]
    headers = {
        name.replace("x-fluxora", "X-Fluxora"): value
        for name, value in {
            fw.HEADER_DELIVERY_ID: case["headers"]["delivery_id"],
            fw.HEADER_TIMESTAMP: case["headers"]["timestamp"],
            fw.HEADER_SIGNATURE: case["headers"]["signature"],
        }.items()
        if value is not None
    }
    body = body_bytes(case["body"])
    if _has_secret(case):
        by_headers = _verifier(config, case.get("replay")).verify(body, headers, now=case["now"])
        assert (by_headers.code, by_headers.status, by_headers.message) == (
            expect["code"],
            expect["status"],
            expect["message"],
        )
    settings: Dict[str, Any] = dict(
        tolerance_seconds=config.get("tolerance_seconds", DEFAULTS["tolerance_seconds"]),
        max_body_bytes=config.get("max_body_bytes", DEFAULTS["max_body_bytes"]),
        previous_secret=config.get("previous_secret"),
        previous_secret_rotated_at=config.get("previous_secret_rotated_at"),
        grace_window_seconds=config.get("grace_window_seconds", DEFAULTS["grace_window_seconds"]),
    )
    one_call = fw.verify(
        secret=config["secret"],
        body=memoryview(bytearray(body)),
        delivery_id=case["headers"]["delivery_id"],
        timestamp=case["headers"]["timestamp"],
        signature=case["headers"]["signature"],
        now=case["now"],
        **settings,
    )
    assert (one_call.code, one_call.status, one_call.message) == (
        expect["code"],
        expect["status"],
        expect["message"],
    )
    by_headers_keyword = fw.verify(config["secret"], body, now=case["now"], headers=headers, **settings)
    assert (by_headers_keyword.code, by_headers_keyword.message) == (expect["code"], expect["message"])


def _values_by_name(pairs: Iterable[Tuple[str, Any]]) -> Dict[str, List[str]]:
    """Each contract header's values in order (names compared case-insensitively)."""
    found: Dict[str, List[str]] = {}
    for name, value in pairs:
        if name.lower().startswith("x-fluxora-"):
            values = value if isinstance(value, list) else [value]
            found.setdefault(name.lower(), []).extend(values)
    return found


def _dict_form(pairs: List[Tuple[str, str]]) -> Dict[str, Any]:
    """A dict of the pairs: an exact name that repeats becomes a list value."""
    form: Dict[str, Any] = {}
    for name, value in pairs:
        if name not in form:
            form[name] = value
        else:
            prior = form[name]
            form[name] = (prior if isinstance(prior, list) else [prior]) + [value]
    return form


def _header_forms(pairs: List[Tuple[str, str]]) -> List[Tuple[str, Any]]:
    """Every header form the package accepts, built from a case's fields in order."""
    from django.http.request import HttpHeaders
    from starlette.datastructures import Headers as StarletteHeaders
    from werkzeug.datastructures import Headers as WerkzeugHeaders

    forms: List[Tuple[str, Any]] = [
        ("list of pairs", list(pairs)),
        ("tuple of pairs", tuple(pairs)),
        ("list of lists", [list(pair) for pair in pairs]),
        # An ASGI server hands Starlette / FastAPI lowercase byte names, repeats kept.
        ("starlette Headers", StarletteHeaders(raw=[(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in pairs])),
        ("werkzeug Headers", WerkzeugHeaders(pairs)),
    ]
    as_dict = _dict_form(pairs)
    # A dict keeps one key per exact spelling: it cannot represent a name whose values
    # interleave with another spelling of the same header. None of the cases does today.
    if _values_by_name(as_dict.items()) == _values_by_name(pairs):
        forms.append(("dict", as_dict))
    # Django (WSGI) reads headers from META, one HTTP_* key per name: a repeated field cannot
    # be represented (the server has already merged or dropped it), and a name with an
    # underscore collides with its hyphenated twin (WSGI servers drop such headers). Those
    # cases are skipped for Django; every other case runs through its HttpHeaders.
    names = [name.lower() for name, _ in pairs]
    if len(set(names)) == len(names) and not any("_" in name for name in names):
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in pairs}
        forms.append(("django HttpHeaders", HttpHeaders(meta)))
    return forms


@pytest.mark.parametrize("case", DOCUMENT["header_cases"], ids=[c["name"] for c in DOCUMENT["header_cases"]])
def test_header_case_in_every_header_form(case: Dict[str, Any]) -> None:
    pairs = [(name, value) for name, value in case["header_pairs"]]
    expect = case["expect"]
    events = _values_by_name(pairs).get(fw.HEADER_EVENT)
    forms = _header_forms(pairs)
    assert len(forms) >= 5
    for form, headers in forms:
        result = _verifier(case["config"], None).verify(body_bytes(case["body"]), headers, now=case["now"])
        assert (result.code, result.status, result.message) == (
            expect["code"],
            expect["status"],
            expect["message"],
        ), form
        if "used_previous_secret" in expect:
            assert result.used_previous_secret is expect["used_previous_secret"], form
        assert result.event == (", ".join(events) if events else None), form


def _build_from_settings(config: Dict[str, Any]) -> fw.Verifier:
    """`Verifier(**config)`; a `replay` object becomes `replay_store=MemoryReplayStore(**replay)`."""
    options = dict(config)
    replay = options.pop("replay", None)
    if replay is not None:
        options["replay_store"] = fw.MemoryReplayStore(**replay)
    return fw.Verifier(**options)


@pytest.mark.parametrize("case", DOCUMENT["settings_cases"], ids=[c["name"] for c in DOCUMENT["settings_cases"]])
def test_settings_case(case: Dict[str, Any]) -> None:
    expect = case["expect"]
    with pytest.raises(fw.SettingsError) as raised:
        _build_from_settings(case["config"])
    error = raised.value
    assert isinstance(error, fw.SettingsError) and isinstance(error, ValueError)
    assert (error.field, error.problem) == (expect["field"], expect["problem"])
    assert isinstance(error, TypeError) is (expect["problem"] == "wrong_type")
    assert isinstance(error, fw.SettingsTypeError) is (expect["problem"] == "wrong_type")
    assert str(error) == error.message and error.message.startswith(f"{error.field} ")


@pytest.mark.parametrize("answer", DOCUMENT["known_answers"])
def test_known_answer(answer: Dict[str, Any]) -> None:
    body = body_bytes(answer["body"])
    assert fw.compute_signature(answer["secret"], answer["timestamp"], body) == answer["signature"]
    assert fw.compute_signature(answer["secret"].encode(), int(answer["timestamp"]), bytearray(body)) == answer["signature"]


def test_design_known_answers_literally() -> None:
    assert (
        fw.compute_signature("topsecret", "1710000000", b'{"event":"stream.updated"}')
        == "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79"
    )
    assert (
        fw.compute_signature("topsecret", "1710000000", b"")
        == "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
    )
    assert (
        fw.compute_signature("topsecret", "1710000000", bytes(range(256)))
        == "fd458b8ae7da6909e485a31de5d23ff63001d3e627104fc93efc12dda15fc348"
    )


def _decimal_answer(value: Any, amount: bool) -> Dict[str, Any]:
    try:
        if amount:
            return {
                "valid": True,
                "normalized": fw.parse_amount(value, "amount"),
                "stroops": str(fw.to_stroops(value, "amount")),
            }
        return {"valid": True, "normalized": fw.parse_decimal(value, "amount")}
    except fw.DecimalError as error:
        assert error.field == "amount"
        assert error.code in fw.DECIMAL_CODES
        return {"valid": False, "code": error.code}


@pytest.mark.parametrize(
    "case", DOCUMENT["decimal_cases"], ids=[c["name"] for c in DOCUMENT["decimal_cases"]]
)
def test_decimal_case(case: Dict[str, Any]) -> None:
    answer = _decimal_answer(case["input"], case["amount"])
    expect = case["expect"]
    assert answer["valid"] is expect["valid"]
    if expect["valid"]:
        assert answer["normalized"] == expect["normalized"]
        if "stroops" in expect:
            assert answer["stroops"] == expect["stroops"]
    else:
        assert answer["code"] == expect["code"]
