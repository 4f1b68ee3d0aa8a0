"""Utils/Faker: made-up test data (names, addresses, companies, internet, lorem, numbers, phones).

Every node is impure (it runs on 'Input' and fires 'Output') and draws a fresh value each time it
runs. Values come from the ``faker`` library's en_US locale, imported on first use; Flow-Like uses
the Rust ``fake`` crate's English data, so the values look alike but are not the same lists.
Flow-Like's faker nodes have no seed input; neither do these.
"""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING, Any, Callable

from ...coerce import as_float, as_int
from ...errors import NodeError
from ...registry import PinDef, inp, out, register

if TYPE_CHECKING:
    from faker import Faker

    from ...runtime import NodeContext

# Upper bounds on generated sizes: a board must not be able to ask for gigabytes of lorem ipsum.
MAX_COUNT = 10_000
MAX_PASSWORD = 4096

# Our own short list: Python's faker has no industry provider (Flow-Like's crate has one).
INDUSTRIES = (
    "Accounting", "Agriculture", "Airlines", "Automotive", "Banking", "Biotechnology", "Chemicals",
    "Civil Engineering", "Computer Software", "Construction", "Consumer Electronics", "Defense", "Education",
    "Energy", "Entertainment", "Financial Services", "Food Production", "Government", "Healthcare",
    "Hospitality", "Insurance", "Logistics", "Manufacturing", "Media", "Mining", "Pharmaceuticals",
    "Real Estate", "Retail", "Telecommunications", "Textiles", "Transportation", "Utilities",
)


@functools.cache
def _fake() -> Faker:
    from faker import Faker

    return Faker("en_US")


def _pins(*outputs: PinDef, inputs: tuple[PinDef, ...] = ()) -> list[PinDef]:
    return [inp("exec_in", "Input", "Execution", description="Generate a value."), *inputs,
            out("exec_out", "Output", "Execution", description="Fires once the value is set."), *outputs]


def _emit(ctx: NodeContext, pin: str, make: Callable[[], Any]) -> None:
    ctx.deactivate("exec_out")
    ctx.set(pin, make())
    ctx.activate("exec_out")


def _text(name: str, friendly: str, category: str, description: str, pin: str, pin_friendly: str,
          make: Callable[[Faker], str]) -> None:
    """Register a node that outputs one generated string (most faker nodes have exactly this shape)."""

    @register(name, friendly, f"Utils/Faker/{category}", description,
              _pins(out(pin, pin_friendly, "String", description=description)))
    def run(ctx: NodeContext) -> None:
        _emit(ctx, pin, lambda: make(_fake()))

    run.__name__ = run.__qualname__ = name


def _range(ctx: NodeContext, low: str, high: str, cap: int) -> tuple[int, int]:
    """A count range [low, high) as Flow-Like's faker reads it; empty or oversized ranges fail."""
    lo, hi = as_int(ctx.get(low), low), as_int(ctx.get(high), high)
    if lo < 0 or hi <= lo:
        raise NodeError(f"inputs '{low}' ({lo}) and '{high}' ({hi}) must satisfy 0 <= {low} < {high}")
    if hi > cap + 1:
        raise NodeError(f"input '{high}' must be at most {cap + 1}")
    return lo, hi


def _count(ctx: NodeContext, low: str, high: str, cap: int = MAX_COUNT) -> int:
    lo, hi = _range(ctx, low, high, cap)
    return random.randrange(lo, hi)


# -- Address ------------------------------------------------------------------------------
_text("faker_city_name", "Fake City Name", "Address", "A made-up city name.", "city", "City Name",
      lambda f: f.city())
_text("faker_country_code", "Fake Country Code", "Address", "A two-letter ISO country code.", "code", "Country Code",
      lambda f: f.country_code())
_text("faker_country_name", "Fake Country Name", "Address", "A country name.", "country", "Country Name",
      lambda f: f.country())
_text("faker_post_code", "Fake Post Code", "Address", "A made-up postal code.", "code", "Post Code",
      lambda f: f.postcode())
_text("faker_state_name", "Fake State Name", "Address", "A state name.", "state", "State Name", lambda f: f.state())
_text("faker_street_address", "Fake Street Address", "Address", "A building number and a street name.", "address",
      "Street Address", lambda f: f"{f.building_number()} {f.street_name()}")
_text("faker_street_name", "Fake Street Name", "Address", "A made-up street name.", "street", "Street Name",
      lambda f: f.street_name())


@register("faker_latitude", "Fake Latitude", "Utils/Faker/Address", "A latitude in degrees, -90 to 90.",
          _pins(out("latitude", "Latitude", "Float", description="Degrees north (negative: south).")))
def faker_latitude(ctx: NodeContext) -> None:
    _emit(ctx, "latitude", lambda: float(_fake().latitude()))


@register("faker_longitude", "Fake Longitude", "Utils/Faker/Address", "A longitude in degrees, -180 to 180.",
          _pins(out("longitude", "Longitude", "Float", description="Degrees east (negative: west).")))
def faker_longitude(ctx: NodeContext) -> None:
    _emit(ctx, "longitude", lambda: float(_fake().longitude()))


# -- Company ------------------------------------------------------------------------------
def _buzzword(f: Faker) -> str:
    from faker.providers.company.en_US import Provider

    return f.random_element([word for words in Provider.catch_phrase_words for word in words])


_text("faker_buzzword", "Fake Buzzword", "Company", "A business buzzword.", "buzzword", "Buzzword", _buzzword)
_text("faker_catch_phrase", "Fake Catch Phrase", "Company", "A made-up company slogan.", "phrase", "Catch Phrase",
      lambda f: f.catch_phrase())
_text("faker_company_name", "Fake Company Name", "Company", "A made-up company name.", "company", "Company Name",
      lambda f: f.company())
_text("faker_industry", "Fake Industry", "Company", "The name of an industry.", "industry", "Industry",
      lambda f: f.random_element(INDUSTRIES))
_text("faker_profession", "Fake Profession", "Company", "A job title.", "profession", "Profession", lambda f: f.job())

# -- Internet -----------------------------------------------------------------------------
_text("faker_domain_suffix", "Fake Domain Suffix", "Internet", "A top-level domain such as 'com'.", "suffix",
      "Domain Suffix", lambda f: f.tld())
_text("faker_email", "Fake Email", "Internet", "An e-mail address at a reserved example domain (never deliverable).",
      "email", "Email", lambda f: f.safe_email())
_text("faker_ipv4", "Fake IPv4", "Internet", "An IPv4 address.", "ip", "IPv4", lambda f: f.ipv4())
_text("faker_ipv6", "Fake IPv6", "Internet", "An IPv6 address.", "ip", "IPv6", lambda f: f.ipv6())
_text("faker_user_agent", "Fake User Agent", "Internet", "A browser User-Agent string.", "user_agent", "User Agent",
      lambda f: f.user_agent())
_text("faker_username", "Fake Username", "Internet", "A made-up user name.", "username", "Username",
      lambda f: f.user_name())


@register("faker_password", "Fake Password", "Utils/Faker/Internet",
          "A random password whose length lies in [Min Length, Max Length).",
          _pins(out("password", "Password", "String", description="The password."),
                inputs=(inp("min_length", "Min Length", "Integer", default=8, description="Shortest length."),
                        inp("max_length", "Max Length", "Integer", default=16,
                            description="Longest length plus one."))))
def faker_password(ctx: NodeContext) -> None:
    length = _count(ctx, "min_length", "max_length", MAX_PASSWORD)
    # faker puts at least one character of each required class in; short passwords are lower case only.
    mixed = length >= 4
    _emit(ctx, "password", lambda: _fake().password(length=length, special_chars=mixed, digits=mixed,
                                                    upper_case=mixed) if length else "")


# -- Lorem --------------------------------------------------------------------------------
def _count_pins(low: str, low_friendly: str, low_default: int, high: str, high_friendly: str,
                high_default: int) -> tuple[PinDef, ...]:
    return (inp(low, low_friendly, "Integer", default=low_default, description="Smallest count."),
            inp(high, high_friendly, "Integer", default=high_default, description="Largest count plus one."))


_text("faker_word", "Fake Word", "Lorem", "One lorem ipsum word.", "word", "Word", lambda f: f.word())


@register("faker_words", "Fake Words", "Utils/Faker/Lorem", "A list of lorem ipsum words, [Min Count, Max Count) of them.",
          _pins(out("words", "Words", "Generic", description="The words, as an array of strings."),
                inputs=_count_pins("min_count", "Min Count", 3, "max_count", "Max Count", 6)))
def faker_words(ctx: NodeContext) -> None:
    n = _count(ctx, "min_count", "max_count")
    _emit(ctx, "words", lambda: _fake().words(nb=n))


@register("faker_sentence", "Fake Sentence", "Utils/Faker/Lorem",
          "A lorem ipsum sentence of [Min Words, Max Words) words.",
          _pins(out("sentence", "Sentence", "String", description="The sentence."),
                inputs=_count_pins("min_words", "Min Words", 4, "max_words", "Max Words", 10)))
def faker_sentence(ctx: NodeContext) -> None:
    n = _count(ctx, "min_words", "max_words")
    _emit(ctx, "sentence", lambda: _fake().sentence(nb_words=n, variable_nb_words=False) if n else "")


@register("faker_sentences", "Fake Sentences", "Utils/Faker/Lorem",
          "A list of [Min Count, Max Count) lorem ipsum sentences.",
          _pins(out("sentences", "Sentences", "Generic", description="The sentences, as an array of strings."),
                inputs=_count_pins("min_count", "Min Count", 2, "max_count", "Max Count", 5)))
def faker_sentences(ctx: NodeContext) -> None:
    n = _count(ctx, "min_count", "max_count")
    _emit(ctx, "sentences", lambda: _fake().sentences(nb=n))


@register("faker_paragraph", "Fake Paragraph", "Utils/Faker/Lorem",
          "A lorem ipsum paragraph of [Min Sentences, Max Sentences) sentences.",
          _pins(out("paragraph", "Paragraph", "String", description="The paragraph."),
                inputs=_count_pins("min_sentences", "Min Sentences", 3, "max_sentences", "Max Sentences", 7)))
def faker_paragraph(ctx: NodeContext) -> None:
    n = _count(ctx, "min_sentences", "max_sentences")
    _emit(ctx, "paragraph", lambda: " ".join(_fake().sentences(nb=n)))


@register("faker_paragraphs", "Fake Paragraphs", "Utils/Faker/Lorem",
          "A list of [Min Count, Max Count) lorem ipsum paragraphs.",
          _pins(out("paragraphs", "Paragraphs", "Generic", description="The paragraphs, as an array of strings."),
                inputs=_count_pins("min_count", "Min Count", 2, "max_count", "Max Count", 4)))
def faker_paragraphs(ctx: NodeContext) -> None:
    n = _count(ctx, "min_count", "max_count", MAX_COUNT // 10)  # each paragraph holds several sentences
    _emit(ctx, "paragraphs", lambda: _fake().paragraphs(nb=n))


# -- Name ---------------------------------------------------------------------------------
_text("faker_first_name", "Fake First Name", "Name", "A first name.", "name", "First Name", lambda f: f.first_name())
_text("faker_full_name", "Fake Full Name", "Name", "A first and last name.", "name", "Full Name",
      lambda f: f"{f.first_name()} {f.last_name()}")
_text("faker_last_name", "Fake Last Name", "Name", "A last name.", "name", "Last Name", lambda f: f.last_name())
_text("faker_title", "Fake Title", "Name", "A name prefix such as 'Dr.'.", "title", "Title", lambda f: f.prefix())

# -- Number -------------------------------------------------------------------------------


@register("faker_boolean", "Fake Boolean", "Utils/Faker/Number", "True with the given probability, else false.",
          _pins(out("value", "Value", "Boolean", description="The drawn value."),
                inputs=(inp("probability", "True Probability", "Float", default=0.5,
                            description="Chance of true, 0 to 1."),)))
def faker_boolean(ctx: NodeContext) -> None:
    probability = as_float(ctx.get("probability"), "probability")
    _emit(ctx, "value", lambda: random.random() < probability)


@register("faker_digit", "Fake Digit", "Utils/Faker/Number", "A digit from 0 to 9.",
          _pins(out("digit", "Digit", "Integer", description="The digit.")))
def faker_digit(ctx: NodeContext) -> None:
    _emit(ctx, "digit", lambda: random.randrange(10))


@register("faker_float", "Fake Float", "Utils/Faker/Number", "A number drawn uniformly from [Min, Max).",
          _pins(out("number", "Number", "Float", description="The number."),
                inputs=(inp("min", "Min", "Float", default=0.0, description="Lowest value."),
                        inp("max", "Max", "Float", default=100.0, description="Upper bound (not reached)."))))
def faker_float(ctx: NodeContext) -> None:
    low, high = as_float(ctx.get("min"), "min"), as_float(ctx.get("max"), "max")
    if not low < high or high - low == float("inf"):
        raise NodeError(f"inputs 'min' ({low}) and 'max' ({high}) must be finite with min < max")
    _emit(ctx, "number", lambda: low + random.random() * (high - low))


@register("faker_integer", "Fake Integer", "Utils/Faker/Number", "A whole number drawn uniformly from [Min, Max).",
          _pins(out("number", "Number", "Integer", description="The number."),
                inputs=(inp("min", "Min", "Integer", default=0, description="Lowest value."),
                        inp("max", "Max", "Integer", default=100, description="Upper bound (not reached)."))))
def faker_integer(ctx: NodeContext) -> None:
    low, high = as_int(ctx.get("min"), "min"), as_int(ctx.get("max"), "max")
    if not low < high:
        raise NodeError(f"inputs 'min' ({low}) and 'max' ({high}) must satisfy min < max")
    _emit(ctx, "number", lambda: random.randrange(low, high))


# -- Phone --------------------------------------------------------------------------------
_text("faker_cell_number", "Fake Cell Number", "Phone", "A made-up mobile phone number.", "phone", "Cell Number",
      lambda f: f.basic_phone_number())
_text("faker_phone_number", "Fake Phone Number", "Phone", "A made-up phone number.", "phone", "Phone Number",
      lambda f: f.phone_number())
