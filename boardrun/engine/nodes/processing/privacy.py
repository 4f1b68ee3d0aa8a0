"""Processing/Privacy: finding and masking personal data (PII) in text with regular expressions.

The detectors are our own patterns. Several are checked beyond the pattern (card numbers by
Luhn, IBANs by their mod-97 check digits, IPv6 by parsing) so that ordinary numbers are not
masked by accident. Positions are character offsets into the text.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from ...coerce import as_bool, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

# PiiDetectionOptions fields, in Flow-Like's pin order, with their friendly names (facts).
OPTION_PINS = [
    ("email", "Email"), ("phone", "Phone"), ("url", "URL"), ("ip_address", "IP Address"),
    ("credit_card", "Credit Card"), ("iban", "IBAN"), ("vat_eu", "EU VAT"), ("ssn", "US SSN"),
    ("german_tax_id", "German Tax ID"), ("ahv_swiss", "Swiss AHV"), ("svnr_austria", "Austrian SVNR"),
    ("passport", "Passport"), ("drivers_license", "Driver's License"), ("address_us", "US Address"),
    ("address_de", "German Address"), ("postcode_uk", "UK Postcode"), ("postcode_de", "German PLZ"), ("date", "Date"),
]


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return 13 <= len(digits) <= 19 and total % 10 == 0


def _iban(text: str) -> bool:
    compact = text.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return 15 <= len(compact) <= 34 and int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _phone(text: str) -> bool:
    return 7 <= sum(c.isdigit() for c in text) <= 15


class Detector(NamedTuple):
    kind: str  # the detection type reported, as Flow-Like names it
    option: str  # the PiiDetectionOptions field that enables it
    pattern: str
    check: Callable[[str], bool] | None = None


_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# Earlier detectors win ties between overlapping matches of the same length (see _find).
DETECTORS = [
    Detector("Email", "email", r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"),
    Detector("URL", "url", r"\b(?:https?|ftp)://[^\s<>\"']*[^\s<>\"'.,;:!?)]"),
    Detector("IBAN", "iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", _iban),
    Detector("CreditCard", "credit_card", r"\b\d(?:[ -]?\d){12,18}\b", _luhn),
    Detector("IPv4", "ip_address", r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"),
    Detector("IPv6", "ip_address", r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])", _ipv6),
    Detector("VATEU", "vat_eu", r"\b(?:ATU\d{8}|BE[01]\d{9}|DE\d{9}|DK\d{8}|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}"
                                r"|FR[A-HJ-NP-Z0-9]{2}\d{9}|IT\d{11}|NL\d{9}B\d{2}|PL\d{10}|SE\d{10}01)\b"),
    Detector("SSN", "ssn", r"\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b"),
    Detector("GermanTaxID", "german_tax_id", r"\b[1-9]\d ?\d{3} ?\d{3} ?\d{3}\b"),
    Detector("AHVSwiss", "ahv_swiss", r"\b756\.?\d{4}\.?\d{4}\.?\d{2}\b"),
    Detector("SVNRAustria", "svnr_austria", r"\b\d{3}[1-9] ?(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}\b"),
    Detector("Passport", "passport", r"\b[A-Z]{1,2}\d{7,8}\b"),
    Detector("DriversLicense", "drivers_license",
             r"(?i:\b(?:driver'?s? licen[cs]e|DL)(?: (?:no\.?|number))?[:#]? ?)[A-Z0-9][A-Z0-9-]{4,15}\b"),
    Detector("Date", "date", r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\.? " + _MONTHS
                             + r" \d{4}|" + _MONTHS + r" \d{1,2},? \d{4})\b"),
    Detector("AddressUS", "address_us",
             r"\b\d{1,6} (?:[A-Z][a-z]+ ){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr"
             r"|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy)\b\.?"),
    Detector("AddressDE", "address_de",
             r"\b[A-ZÄÖÜ][a-zäöüß-]*(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm)(?: \d{1,4}[a-z]?)?"
             r"|\b(?:[A-ZÄÖÜ][a-zäöüß]+ )+(?:Straße|Strasse|Weg|Platz|Allee|Gasse|Ring|Damm) \d{1,4}[a-z]?\b"),
    Detector("PostcodeUK", "postcode_uk", r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),
    Detector("PostcodeDE", "postcode_de", r"\b\d{5}(?= [A-ZÄÖÜ][a-zäöüß]+)"),
    Detector("Phone", "phone", r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?!\w)",
             _phone),
]


@functools.cache
def _compiled() -> list[tuple[Detector, re.Pattern[str]]]:
    return [(d, re.compile(d.pattern)) for d in DETECTORS]


def find_pii(text: str, enabled: set[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) matches, in text order. Where matches overlap, the longest
    wins (then the earlier detector)."""
    found = []
    for rank, (detector, pattern) in enumerate(_compiled()):
        if detector.option not in enabled:
            continue
        for match in pattern.finditer(text):
            if match.end() > match.start() and (detector.check is None or detector.check(match.group())):
                found.append((match.start(), match.end(), rank, detector.kind))
    found.sort(key=lambda m: (m[0] - m[1], m[2], m[0]))  # longest first, then detector order
    kept: list[tuple[int, int, str]] = []
    for start, end, _, kind in found:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    return sorted(kept)


@register("processing_pii_detection_options", "PII Detection Options", "Processing/Privacy",
          "Picks which kinds of personal data a PII node looks for.",
          [*(inp(name, friendly, "Boolean", default=True, description=f"Detect {friendly}.")
             for name, friendly in OPTION_PINS),
           out("options", "Options", "Struct", schema="PiiDetectionOptions", description="The chosen options.")])
def processing_pii_detection_options(ctx: NodeContext) -> None:
    ctx.set("options", {name: as_bool(ctx.get(name), name) for name, _ in OPTION_PINS})


def _options(ctx: NodeContext) -> dict[str, bool]:
    try:
        raw = ctx.get("options")
    except NodeError:
        raw = None  # not wired and no default: every detector, as in Flow-Like
    if raw is None:
        return {name: True for name, _ in OPTION_PINS}
    if not isinstance(raw, dict):
        raise NodeError("input 'options' must be a PII detection options object")
    options = {}
    for name, _ in OPTION_PINS:
        value = raw.get(name, True)
        if type(value) is not bool:
            raise NodeError(f"input 'options': field '{name}' must be a boolean")
        options[name] = value
    return options


# The mask node's switches, each overriding one or more option fields (as in Flow-Like).
SWITCHES = [
    ("detect_email", "Detect Email", ("email",)), ("detect_phone", "Detect Phone", ("phone",)),
    ("detect_credit_card", "Detect Credit Card", ("credit_card",)), ("detect_iban", "Detect IBAN", ("iban",)),
    ("detect_address", "Detect Address", ("address_us", "address_de", "postcode_uk", "postcode_de")),
    ("detect_ssn", "Detect SSN/Tax ID", ("ssn", "german_tax_id", "ahv_swiss", "svnr_austria")),
    ("detect_url", "Detect URL", ("url",)), ("detect_ip", "Detect IP", ("ip_address",)),
]


@register("processing_pii_mask_regex", "PII Mask (Regex)", "Processing/Privacy",
          "Masks personal data (e-mail addresses, phone and card numbers, IBANs, addresses, ...) found by patterns.",
          [inp("exec_in", "Input", "Execution", description="Mask the text."),
           inp("text", "Text", "String", default="", description="The text to clean."),
           inp("options", "Detection Options", "Struct", options={"enforce_schema": True}, schema="PiiDetectionOptions",
               description="Which kinds to look for; the switches below override their fields."),
           *(inp(name, friendly, "Boolean", default=True, description=f"{friendly} (overrides the options).")
             for name, friendly, _ in SWITCHES),
           inp("mask_char", "Mask Character", "String", default="*", description="Used when preserving length."),
           inp("preserve_length", "Preserve Length", "Boolean", default=True,
               description="Replace each character by the mask character instead of inserting the mask text."),
           inp("mask_text", "Mask Text", "String", default="[REDACTED]", description="Replaces each finding otherwise."),
           out("exec_out", "Output", "Execution", description="Fires after masking."),
           out("masked_text", "Masked Text", "String", description="The text with findings masked."),
           out("detection_count", "Detection Count", "Integer", description="How many findings were masked."),
           out("detections", "Detections", "Struct",
               description="Findings as [{type, start, end, original_length}], character offsets in the input.")])
def processing_pii_mask_regex(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    options = _options(ctx)
    for pin, _, fields in SWITCHES:
        on = as_bool(ctx.get(pin), pin)
        options.update(dict.fromkeys(fields, on))
    mask_char = as_str(ctx.get("mask_char"), "mask_char")[:1] or "*"
    preserve = as_bool(ctx.get("preserve_length"), "preserve_length")
    mask_text = as_str(ctx.get("mask_text"), "mask_text")
    found = find_pii(text, {name for name, on in options.items() if on})
    parts: list[str] = []
    detections: list[dict[str, Any]] = []
    position = 0
    for start, end, kind in found:
        parts.append(text[position:start])
        parts.append(mask_char * (end - start) if preserve else mask_text)
        detections.append({"type": kind, "start": start, "end": end, "original_length": end - start})
        position = end
    parts.append(text[position:])
    ctx.set("masked_text", "".join(parts))
    ctx.set("detection_count", len(detections))
    ctx.set("detections", detections)
    ctx.activate("exec_out")
