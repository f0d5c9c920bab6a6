"""The import's fast e-mail and phone paths give exactly what the full validators give."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycrm.io.csv_import import fast_email, fast_phone
from pycrm.services.errors import ValidationError
from pycrm.services.validation import normalize_email, normalize_phone


def outcome(func, *args):  # type: ignore[no-untyped-def]
    try:
        return func(*args)
    except ValidationError as exc:
        return ("error", exc.field, exc.reason)


PHONES = [
    "+55 11 98765-4321", "+55 (11) 3456-7890", "+1 212 555 0100", "+1 (212) 555-0100",
    "+44 20 7946 0958", "+44 (0)20 7946 0958", "+33 6 12 34 56 78", "+39 06 6982 0000",
    "+351 912 345 678", "+49 30 901820", "+7 495 123-45-67", "+86 10 1234 5678", "+1 800 FLOWERS",
    "(11) 98765-4321", "11 98765-4321", "212-555-0100", "1234", "+1234", "+", "++55 11", "0",
    "tel:+1-212-555-0100", " +55 11 9 8765 4321 ", "+55 11 9876", "+999 123 456", "00 55 11 98765 4321",
    "+290 8 1234", "+383 44 123 456", "+1 684 633 1234", "+61 4 1234 5678", "..", "+44 7911 123456",
]  # fmt: skip


@pytest.mark.parametrize("region", ["US", "BR", "GB", "FR"])
@pytest.mark.parametrize("text", PHONES)
def test_fast_phone_matches_the_full_parser(text: str, region: str) -> None:
    assert outcome(fast_phone, text, region) == outcome(normalize_phone, text, region)


@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet="+0123456789 ().-", max_size=22),
    st.sampled_from(["US", "BR", "GB", "IT", "DE", "FR"]),
)
def test_fast_phone_matches_on_generated_numbers(text: str, region: str) -> None:
    assert outcome(fast_phone, text, region) == outcome(normalize_phone, text, region)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        ["+1", "+55", "+44", "+33", "+39", "+49", "+351", "+7", "+86", "+61", "+1 ", "+"]
    ),
    st.text(alphabet="0123456789", min_size=4, max_size=13),
    st.sampled_from(["US", "BR", "GB"]),
)
def test_fast_phone_matches_on_international_numbers(prefix: str, digits: str, region: str) -> None:
    text = prefix + " " + digits
    assert outcome(fast_phone, text, region) == outcome(normalize_phone, text, region)


EMAILS = [
    "ana@acme.com", "Ana.Silva@ACME.com.br", "mailto:ana@acme.com", " bob+tag@example.org ",
    "o'neil@example.ie", "a..b@example.com", ".a@example.com", "a.@example.com", "a@b", "a@localhost",
    "a@example.test", "joão@exemplo.com.br", "ana@exämple.com", "ana@@acme.com", "@acme.com", "ana@",
    "ana@-acme.com", "ana@acme..com", '"quoted"@example.com', "x" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com", "ana@acme.c", "ana@123.45", "ana@acme.com.", "ana @acme.com", "",
    "a@" + ".".join(["abcdefghi"] * 26) + ".com", "USER@Example.COM", "ana@xn--exmple-cua.com",
]  # fmt: skip


@pytest.mark.parametrize("text", EMAILS)
def test_fast_email_matches_email_validator(text: str) -> None:
    assert outcome(fast_email, text) == outcome(normalize_email, text)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="abAB09.+-_'@ é", max_size=24))
def test_fast_email_matches_on_generated_addresses(text: str) -> None:
    assert outcome(fast_email, text) == outcome(normalize_email, text)


def test_fast_phone_matches_on_every_regions_example_numbers() -> None:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            text = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
            for variant in (text, text[:-1] + str((int(text[-1]) + 3) % 10), text + "1"):
                for default in ("US", region):
                    assert outcome(fast_phone, variant, default) == outcome(
                        normalize_phone, variant, default
                    ), (variant, default)
                    checked += 1
    assert checked > 1000


@settings(max_examples=800, deadline=None)
@given(
    st.sampled_from(
        ["+1", "+7", "+39", "+44", "+47", "+61", "+212", "+262", "+290", "+358", "+590", "+599"]
    ),
    st.text(alphabet="0123456789", min_size=3, max_size=13),
)
def test_fast_phone_matches_on_calling_codes_shared_by_several_regions(
    prefix: str, digits: str
) -> None:
    """+1 (the US, Canada, the Caribbean…), +7, +44…: the region is chosen as phonenumbers does."""
    text = prefix + " " + digits
    assert outcome(fast_phone, text, "US") == outcome(normalize_phone, text, "US")


@pytest.mark.parametrize(
    "text",
    ["+1 212 200 0000", "+1 416 555 0100", "+1 268 464 1234", "+1 876 555 0100", "+1 212 100 0000",
     "+7 701 123 4567", "+7 495 123 4567", "+44 1624 456789", "+44 7700 900123", "+47 79 12 34 56",
     "+61 8 9162 1234", "+358 18 12345", "+590 690 00 12 34", "+599 9 123 4567"],
)  # fmt: skip
def test_fast_phone_takes_the_fast_path_for_shared_calling_codes(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import phonenumbers

    expected = outcome(normalize_phone, text, "US")

    def refuse(*_: object) -> bool:
        raise AssertionError("the slow path was taken")

    monkeypatch.setattr(phonenumbers, "is_valid_number", refuse)
    assert outcome(fast_phone, text, "US") == expected
