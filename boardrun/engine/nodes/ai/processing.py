"""AI/Processing: documents from the app's files as Markdown pages (optionally with a vision model for
scanned pages and images), pages to Markdown, keyword extraction (RAKE, YAKE, and by a model), PII
masking, document summaries and sections by a model (forced native tool calls).

Heavy libraries are imported on first use."""

from __future__ import annotations

import functools
import re
from typing import Any, TYPE_CHECKING

from ... import documents
from ...ai import providers, shapes
from ...coerce import as_bool, as_float, as_int, as_list, as_str
from ...errors import NodeError
from ...files import extension
from ...registry import inp, out, register
from .generative import MODEL_IN, _chat, _exec_in, _exec_out, _forced_call, _one_shot

if TYPE_CHECKING:
    from ...runtime import NodeContext


# -- documents to pages ---------------------------------------------------------------------------

_FILE_IN = inp("file", "File", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="A document in the app's folders (PDF, DOCX, XLSX, CSV, HTML, text, image).")
_FILES_IN = inp("files", "Files", "Struct", "Array", options={"enforce_schema": True}, schema="FlowPath",
                description="Documents in the app's folders.")
_IMAGES_IN = inp("extract_images", "Extract Images", "Boolean", default=True,
                 description="Accepted for Flow-Like boards; pages carry no image values here.")


def _pages_out(name: str, friendly: str) -> Any:
    return out(name, friendly, "Struct", "Array", options={"enforce_schema": True}, schema="DocumentPage",
               description="Pages as {page_number, content (Markdown), images}.")


def _ai_pins(images: int, batch: int, max_tokens: int) -> list[Any]:
    return [inp("images_per_message", "Images Per Message", "Integer", default=images,
                description="Images per model request (each page is sent on its own here)."),
            inp("pages_per_batch", "Pages Per Batch", "Integer", default=batch,
                description="Accepted for Flow-Like boards; pages are sent one after another here."),
            inp("temperature", "Temperature", "Float", default=0.1, description="The model's temperature."),
            inp("max_tokens", "Max Tokens", "Integer", default=max_tokens,
                description="Most tokens per answer; 0 for the model's default.")]


def _extract(ctx: NodeContext, pin: str, value: Any, vision: documents.Vision | None) -> list[dict[str, Any]]:
    loc = ctx.files.locate(value, pin)
    name = loc.rel.rsplit("/", 1)[-1] or loc.rel
    data = ctx.files.read(loc)
    ctx.log("Debug", f"extracting {name} ({len(data)} bytes)")
    return documents.convert(data, extension(loc.rel), name, vision, ctx.checkpoint)


def _vision(ctx: NodeContext) -> documents.Vision:
    """Requests to the node's model: one user message with the instruction and the images."""
    import base64

    target = providers.resolve(ctx, ctx.get("model"))
    temperature = as_float(ctx.get("temperature"), "temperature")
    max_tokens = as_int(ctx.get("max_tokens"), "max_tokens")

    def ask(prompt: str, images: list[tuple[bytes, str]]) -> str:
        parts = [{"type": "text", "text": prompt}]
        parts += [{"type": "image_url", "image_url": {"url": f"data:{kind};base64,{base64.b64encode(data).decode()}"}}
                  for data, kind in images]
        hist = shapes.new_history("", [{"role": "user", "content": parts}])
        hist["stream"] = False
        hist["temperature"] = temperature
        if max_tokens > 0:
            hist["max_completion_tokens"] = max_tokens
        response = shapes.new_response()
        for chunk in _chat(ctx, target, hist):
            shapes.push_chunk(response, chunk)
        message = shapes.last_message(response) or {}
        return message.get("content") or ""

    return ask


@register("ai_processing_extract_document", "Extract Document", "AI/Processing",
          "Extracts a document's text as Markdown pages (PDF, DOCX, XLSX, CSV, HTML, text, images).",
          [inp("exec_in", "Input", "Execution", description="Extract."), _FILE_IN, _IMAGES_IN,
           out("exec_out", "Output", "Execution", description="Fires once extracted."), _pages_out("pages", "Pages")])
def ai_processing_extract_document(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    as_bool(ctx.get("extract_images"), "extract_images")
    ctx.set("pages", _extract(ctx, "file", ctx.get("file"), None))
    ctx.activate("exec_out")


@register("ai_processing_extract_document_ai", "AI Extract Document", "AI/Processing",
          "Extracts a document as Markdown pages; a vision model reads scanned or image-heavy PDF pages and images.",
          [inp("exec_in", "Input", "Execution", description="Extract."), _FILE_IN, MODEL_IN, _IMAGES_IN,
           *_ai_pins(1, 4, 0),
           out("exec_out", "Output", "Execution", description="Fires once extracted."), _pages_out("pages", "Pages")],
          long_running=True)
def ai_processing_extract_document_ai(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    as_bool(ctx.get("extract_images"), "extract_images")
    ctx.set("pages", _extract(ctx, "file", ctx.get("file"), _vision(ctx)))
    ctx.activate("exec_out")


def _extract_all(ctx: NodeContext, vision: documents.Vision | None) -> list[dict[str, Any]]:
    # As in Flow-Like: the pages of every file in one list, each file numbering its own pages.
    return [p for position, value in enumerate(as_list(ctx.get("files"), "files"))
            for p in _extract(ctx, f"files[{position}]", value, vision)]


@register("ai_processing_extract_documents", "Extract Documents", "AI/Processing",
          "Extracts several documents; the pages of all of them, in order.",
          [inp("exec_in", "Input", "Execution", description="Extract."), _FILES_IN, _IMAGES_IN,
           out("exec_out", "Output", "Execution", description="Fires once extracted."),
           _pages_out("results", "Results")],
          long_running=True)
def ai_processing_extract_documents(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    as_bool(ctx.get("extract_images"), "extract_images")
    ctx.set("results", _extract_all(ctx, None))
    ctx.activate("exec_out")


@register("ai_processing_extract_documents_ai", "AI Extract Documents", "AI/Processing",
          "Extracts several documents with a vision model for scanned pages and images; the pages of all of them.",
          [inp("exec_in", "Input", "Execution", description="Extract."), _FILES_IN, MODEL_IN, _IMAGES_IN,
           *_ai_pins(2, 2, 4096),
           out("exec_out", "Output", "Execution", description="Fires once extracted."),
           _pages_out("results", "Results")],
          long_running=True)
def ai_processing_extract_documents_ai(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    as_bool(ctx.get("extract_images"), "extract_images")
    ctx.set("results", _extract_all(ctx, _vision(ctx)))
    ctx.activate("exec_out")


@register("ai_processing_pages_to_markdown", "Pages to Markdown", "AI/Processing",
          "Joins extracted document pages into one Markdown text, with a heading per page when there are several.",
          [inp("exec_in", "Input", "Execution", description="Join the pages."),
           inp("pages", "Pages", "Struct", "Array", options={"enforce_schema": True}, schema="DocumentPage",
               description="Pages as {page_number, content, images}."),
           out("exec_out", "Output", "Execution", description="Fires once the Markdown is set."),
           out("markdown", "Markdown", "String", description="The joined Markdown.")])
def ai_processing_pages_to_markdown(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    pages = as_list(ctx.get("pages"), "pages")
    parts = []
    for position, page in enumerate(pages):
        number = page.get("page_number") if isinstance(page, dict) else None
        content = page.get("content") if isinstance(page, dict) else None
        if type(number) is not int or number < 0 or not isinstance(content, str):
            raise NodeError(f"input 'pages': element {position} needs a 'page_number' (a non-negative integer) "
                            f"and a 'content' string")
        # Same layout as Flow-Like: a rule and a heading before each page when there is more than one.
        parts.append(f"\n---\n## Page {number}\n\n{content}" if len(pages) > 1 else content)
    ctx.set("markdown", "\n".join(parts))
    ctx.activate("exec_out")


RAKE_LANGUAGES = ["auto", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "tr", "sv", "da", "no", "fi"]
YAKE_LANGUAGES = ["auto", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ar", "fi", "tr", "sv", "da", "no"]
# stop-words names its lists; ISO 639-1 codes for the languages above.
_STOP_WORD_LISTS = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
                    "pt": "portuguese", "nl": "dutch", "pl": "polish", "ru": "russian", "tr": "turkish",
                    "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish", "ar": "arabic"}


def _language(text: str, requested: str, supported: list[str]) -> str:
    if requested not in supported:
        raise NodeError(f"input 'language' must be one of {', '.join(supported)}, got '{requested}'")
    if requested != "auto":
        return requested
    detected = _identifier(tuple(supported[1:])).classify(text)[0] if text.strip() else "en"
    return detected if detected in supported else "en"  # as Flow-Like: English when unsure


@functools.cache
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)  # the model bundled with py3langid
    identifier.set_languages(list(languages))  # only what the node supports: fewer wrong guesses
    return identifier


@functools.cache
def _stop_words(language: str) -> frozenset[str]:
    from stop_words import get_stop_words

    return frozenset(word.lower() for word in get_stop_words(_STOP_WORD_LISTS[language]))


_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”„«»\n\t]+|\s[-–—]\s")


def rake(text: str, stop_words: frozenset[str]) -> list[tuple[str, float]]:
    """Rapid Automatic Keyword Extraction: candidate phrases are runs of words between stop words
    and punctuation; a word scores degree/frequency over all candidates, a phrase the sum of its
    words. Returns (phrase, score) best first, each phrase once (lower case)."""
    phrases: list[list[str]] = []
    for fragment in _PHRASE_BREAK.split(text.lower()):
        current: list[str] = []
        for word in _WORD.findall(fragment):
            if word in stop_words or word.isdigit():
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(word)
        if current:
            phrases.append(current)
    frequency: dict[str, int] = {}
    degree: dict[str, int] = {}
    for phrase in phrases:
        for word in phrase:
            frequency[word] = frequency.get(word, 0) + 1
            degree[word] = degree.get(word, 0) + len(phrase)
    scores: dict[str, float] = {}
    for phrase in phrases:
        scores.setdefault(" ".join(phrase), sum(degree[w] / frequency[w] for w in phrase))
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@register("ai_processing_rake_extraction", "RAKE Keywords", "AI/Processing",
          "Finds key phrases in a text with RAKE (phrases between stop words, scored by word co-occurrence).",
          [inp("text", "Text", "String", default="", description="The text to analyse."),
           inp("language", "Language", "String", default="auto", options={"valid_values": RAKE_LANGUAGES},
               description="Stop-word language; 'auto' detects it."),
           inp("stop_words", "Stop Words", "String", "HashSet", default=[],
               description="Your own stop words; when given they replace the language's list."),
           inp("min_score", "Min Score", "Float", default=0.0, description="Drop phrases scoring lower."),
           inp("max_keywords", "Max Keywords", "Integer", default=0, description="At most this many; 0 means all."),
           out("keywords", "Keywords", "String", "HashSet", description="The key phrases, best first.")])
def ai_processing_rake_extraction(ctx: NodeContext) -> None:
    text = as_str(ctx.get("text"), "text")
    custom = as_list(ctx.get("stop_words"), "stop_words")
    min_score = as_float(ctx.get("min_score"), "min_score")
    limit = as_int(ctx.get("max_keywords"), "max_keywords")
    language = as_str(ctx.get("language"), "language")
    if custom:
        # Flow-Like skips non-string entries silently; a wrong entry here is a board mistake worth naming.
        if not all(isinstance(word, str) for word in custom):
            raise NodeError("input 'stop_words' must contain only strings")
        stop_words = frozenset(word.lower() for word in custom)
        if language not in RAKE_LANGUAGES:
            raise NodeError(f"input 'language' must be one of {', '.join(RAKE_LANGUAGES)}, got '{language}'")
    else:
        stop_words = _stop_words(_language(text, language, RAKE_LANGUAGES))
    ranked = [phrase for phrase, score in rake(text, stop_words) if score >= min_score]
    ctx.set("keywords", ranked[:limit] if limit > 0 else ranked)


@register("ai_processing_yake_extraction", "YAKE Keywords", "AI/Processing",
          "Finds keywords in a text with YAKE (statistical features of each term, no training).",
          [inp("text", "Text", "String", default="", description="The text to analyse."),
           inp("language", "Language", "String", default="auto", options={"valid_values": YAKE_LANGUAGES},
               description="Stop-word language; 'auto' detects it."),
           inp("ngrams", "N-grams", "Integer", default=2, description="Longest keyword in words (1 to 3)."),
           inp("max_keywords", "Max Keywords", "Integer", default=10, description="How many keywords (at least 1)."),
           inp("dedup_threshold", "Dedup Threshold", "Float", default=0.9,
               description="Similarity above which near-duplicate keywords are dropped (0 to 1)."),
           out("keywords", "Keywords", "String", "HashSet", description="The keywords, best first.")])
def ai_processing_yake_extraction(ctx: NodeContext) -> None:
    text = as_str(ctx.get("text"), "text")
    ngrams = min(3, max(1, as_int(ctx.get("ngrams"), "ngrams")))
    top = max(1, as_int(ctx.get("max_keywords"), "max_keywords"))
    dedup = as_float(ctx.get("dedup_threshold"), "dedup_threshold")
    if not 0.0 <= dedup <= 1.0:
        raise NodeError(f"input 'dedup_threshold' must be between 0 and 1, got {dedup}")
    language = _language(text, as_str(ctx.get("language"), "language"), YAKE_LANGUAGES)
    if not text.strip():
        ctx.set("keywords", [])
        return
    import yake

    extractor = yake.KeywordExtractor(lan=language, n=ngrams, dedupLim=dedup, top=top)
    ctx.set("keywords", [keyword for keyword, _ in extractor.extract_keywords(text)])


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NodeError(f"the model's {what} are not a list of strings")
    return value


@register("ai_processing_ai_keyword_extraction", "AI Keywords", "AI/Processing",
          "Has the model pick the most relevant keywords and key phrases of a text.",
          [_exec_in(), MODEL_IN, inp("text", "Text", "String", default="", description="The text."),
           inp("max_keywords", "Max Keywords", "Integer", default=10, description="At most this many (1 to 100)."),
           inp("context", "Context", "String", default="", description="Extra instructions (optional)."),
           _exec_out(), out("keywords", "Keywords", "String", "HashSet", description="The keywords, each once.")],
          long_running=True)
def ai_processing_ai_keyword_extraction(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    limit = min(100, max(1, as_int(ctx.get("max_keywords"), "max_keywords")))
    extra = as_str(ctx.get("context"), "context").strip()
    system = (f"List up to {limit} keywords or short key phrases that best describe the user's text: key "
              "concepts, domain terms and named entities. Answer only by calling 'submit_keywords'.")
    if extra:
        system += f"\n\nAlso: {extra}"
    tool = {"type": "function", "function": {"name": "submit_keywords", "description": "Submit the keywords.",
                                             "parameters": {"type": "object", "required": ["keywords"], "properties": {
                                                 "keywords": {"type": "array", "items": {"type": "string"}}}}}}
    keywords = _strings(_forced_call(ctx, _one_shot(system, text), tool).get("keywords"), "keywords")
    unique = list(dict.fromkeys(k.strip() for k in keywords if k.strip()))
    ctx.set("keywords", unique[:limit])
    ctx.activate("exec_out")


_SENSITIVITY = {
    "low": "Report only direct identifiers: names, e-mail addresses, phone numbers, government and account numbers.",
    "medium": "Report direct identifiers and addresses, dates of birth, IP addresses and other personal details.",
    "high": "Report everything that could identify a person, directly or combined with other details.",
}


@register("processing_pii_mask_ai", "PII Mask (AI)", "AI/Processing",
          "Has the model find personal data in a text, then replaces every occurrence with the mask text.",
          [_exec_in(), MODEL_IN, inp("text", "Text", "String", default="", description="The text."),
           inp("mask_text", "Mask Text", "String", default="[REDACTED]", description="What replaces the personal data."),
           inp("additional_context", "Context", "String", default="", description="Extra instructions (optional)."),
           inp("sensitivity", "Sensitivity", "String", default="medium", options={"valid_values": ["low", "medium", "high"]},
               description="How much counts as personal data."),
           _exec_out(), out("masked_text", "Masked Text", "String", description="The text with the data masked."),
           out("detection_count", "Detection Count", "Integer", description="How many findings were masked."),
           out("detections", "Detections", "Struct", description="The findings: pii_type, original, context.")],
          long_running=True)
def processing_pii_mask_ai(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    mask = as_str(ctx.get("mask_text"), "mask_text")
    level = as_str(ctx.get("sensitivity"), "sensitivity")
    if level not in _SENSITIVITY:
        raise NodeError(f"input 'sensitivity' must be low, medium or high, got {level!r}")
    system = ("Find the personal data (PII) in the user's text and answer only by calling 'report_pii', quoting "
              f"each finding exactly as it appears. {_SENSITIVITY[level]}")
    extra = as_str(ctx.get("additional_context"), "additional_context").strip()
    if extra:
        system += f"\n\nAlso: {extra}"
    tool = {"type": "function", "function": {"name": "report_pii", "description": "Report the personal data found.",
                                             "parameters": {"type": "object", "required": ["detections"], "properties": {
                                                 "detections": {"type": "array", "items": {
                                                     "type": "object", "required": ["pii_type", "original"],
                                                     "properties": {"pii_type": {"type": "string"},
                                                                    "original": {"type": "string"},
                                                                    "context": {"type": "string"}}}}}}}}
    found = _forced_call(ctx, _one_shot(system, text), tool).get("detections")
    if not isinstance(found, list) or not all(
            isinstance(d, dict) and isinstance(d.get("pii_type"), str) and isinstance(d.get("original"), str)
            for d in found):
        raise NodeError("the model's PII findings are not a list of {pii_type, original}")
    # Only what really occurs in the text counts; the masking is done here, not by the model.
    detections = [{"pii_type": d["pii_type"], "original": d["original"],
                   "context": d.get("context") if isinstance(d.get("context"), str) else None}
                  for d in found if d["original"] and d["original"] in text]
    masked = text
    for original in sorted({d["original"] for d in detections}, key=len, reverse=True):
        masked = masked.replace(original, mask)
    ctx.set("masked_text", masked)
    ctx.set("detection_count", len(detections))
    ctx.set("detections", detections)
    ctx.activate("exec_out")


# -- documents: summaries and sections over pages ------------------------------------------------

def _pages(ctx: NodeContext) -> list[dict[str, Any]]:
    pages = ctx.get("pages")
    if not isinstance(pages, list) or not all(
            isinstance(p, dict) and type(p.get("page_number")) is int and isinstance(p.get("content"), str) for p in pages):
        raise NodeError("input 'pages' must be an array of DocumentPage ({page_number, content, images})")
    return pages


def _page_groups(pages: list[dict[str, Any]], max_tokens: int) -> list[list[dict[str, Any]]]:
    """Consecutive pages grouped so each group's text stays within ``max_tokens`` (about 4
    characters a token); a page larger than that is a group of its own."""
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for page in pages:
        tokens = len(page["content"]) // 4 + 1
        if groups and size + tokens <= max_tokens:
            groups[-1].append(page)
            size += tokens
        else:
            groups.append([page])
            size = tokens
    return groups


def _page_text(group: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"--- Page {p['page_number']} ---\n{p['content']}" for p in group)


def _context_budget(ctx: NodeContext) -> int:
    budget = as_int(ctx.get("max_context_tokens"), "max_context_tokens")
    if budget < 100:
        raise NodeError(f"input 'max_context_tokens' must be at least 100, got {budget}")
    as_int(ctx.get("parallel_requests"), "parallel_requests")  # read for its check; groups run one by one
    return budget


_DETAIL = {"Low": "in two or three sentences", "Medium": "in one or two paragraphs",
           "High": "thoroughly, section by section"}
_SUMMARY_TOOL = {"type": "function", "function": {
    "name": "submit_summary", "description": "Submit the summary.",
    "parameters": {"type": "object", "required": ["summary", "keywords", "page_references"], "properties": {
        "summary": {"type": "string"}, "keywords": {"type": "array", "items": {"type": "string"}},
        "page_references": {"type": "array", "items": {"type": "object", "required": ["topic", "pages"], "properties": {
            "topic": {"type": "string"}, "pages": {"type": "array", "items": {"type": "integer"}}}}}}}}}


def _summary(arguments: dict[str, Any]) -> dict[str, Any]:
    refs = arguments.get("page_references")
    if not isinstance(arguments.get("summary"), str) or not isinstance(refs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("topic"), str) and isinstance(r.get("pages"), list)
            and all(type(n) is int and n >= 0 for n in r["pages"]) for r in refs):
        raise NodeError("the model's summary is not {summary, keywords, page_references: [{topic, pages}]}")
    return {"summary": arguments["summary"], "keywords": _strings(arguments.get("keywords"), "keywords"),
            "page_references": [{"topic": r["topic"], "pages": r["pages"]} for r in refs]}


@register("ai_processing_summarize_document", "Summarize Document", "AI/Processing",
          "Has the model summarize a document's pages, with keywords and the pages each topic is on.",
          [_exec_in(), inp("pages", "Pages", "Struct", "Array", options={"enforce_schema": True},
                           description="The document's pages."),
           MODEL_IN, inp("detail_level", "Detail Level", "String", default="Medium",
                         options={"valid_values": ["Low", "Medium", "High"]}, description="How long the summary is."),
           inp("include_toc", "Include TOC", "Boolean", default=True, description="Start with a table of contents."),
           inp("max_context_tokens", "Max Context Tokens", "Integer", default=8000,
               description="Pages are summarized in groups of about this many tokens."),
           inp("parallel_requests", "Parallel Requests", "Integer", default=4,
               description="Accepted for compatibility; groups are summarized one after another."),
           _exec_out(), out("summary", "Summary", "Struct", options={"enforce_schema": True},
                            description="summary, keywords and page_references.")],
          long_running=True)
def ai_processing_summarize_document(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    pages = _pages(ctx)
    detail = _DETAIL.get(as_str(ctx.get("detail_level"), "detail_level"), _DETAIL["Medium"])
    toc = " Begin the summary with a short table of contents." if as_bool(ctx.get("include_toc"), "include_toc") else ""
    budget = _context_budget(ctx)
    if not pages:
        ctx.set("summary", {"summary": "", "keywords": [], "page_references": []})
        ctx.activate("exec_out")
        return
    system = (f"Summarize the document pages you are given {detail}.{toc} List its keywords and, for each main "
              "topic, the page numbers it appears on. Answer only by calling 'submit_summary'.")
    parts = [_summary(_forced_call(ctx, _one_shot(system, _page_text(group)), _SUMMARY_TOOL))
             for group in _page_groups(pages, budget)]
    if len(parts) == 1:
        ctx.set("summary", parts[0])
    else:  # one summary of the group summaries, keeping every topic's pages
        combined = "\n\n".join(f"Part {i}:\n{p['summary']}" for i, p in enumerate(parts, 1))
        merged = _summary(_forced_call(ctx, _one_shot(
            f"Combine the summaries of consecutive parts of one document into one summary {detail}.{toc} "
            "Answer only by calling 'submit_summary' (page_references may be empty).", combined), _SUMMARY_TOOL))
        refs = [r for p in parts for r in p["page_references"]]
        keywords = list(dict.fromkeys(k for p in [merged, *parts] for k in p["keywords"]))
        ctx.set("summary", {"summary": merged["summary"], "keywords": keywords, "page_references": refs})
    ctx.activate("exec_out")


_SECTIONS_TOOL = {"type": "function", "function": {
    "name": "submit_sections", "description": "Submit the document's sections.",
    "parameters": {"type": "object", "required": ["sections"], "properties": {"sections": {"type": "array", "items": {
        "type": "object", "required": ["title", "summary", "keywords", "page_references"], "properties": {
            "title": {"type": "string"}, "summary": {"type": "string"},
            "keywords": {"type": "array", "items": {"type": "string"}},
            "page_references": {"type": "array", "items": {"type": "integer"}}}}}}}}}


@register("ai_processing_extract_content_sections", "Extract Content Sections", "AI/Processing",
          "Has the model divide a document's pages into sections, each with a title, summary, keywords and pages.",
          [_exec_in(), inp("pages", "Pages", "Struct", "Array", options={"enforce_schema": True},
                           description="The document's pages."),
           MODEL_IN, inp("max_context_tokens", "Max Context Tokens", "Integer", default=8000,
                         description="Pages are read in groups of about this many tokens."),
           inp("parallel_requests", "Parallel Requests", "Integer", default=4,
               description="Accepted for compatibility; groups are read one after another."),
           _exec_out(), out("sections", "Sections", "Struct", "Array", options={"enforce_schema": True},
                            description="title, summary, keywords, page_references per section.")],
          long_running=True)
def ai_processing_extract_content_sections(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    pages = _pages(ctx)
    budget = _context_budget(ctx)
    system = ("Divide the document pages you are given into their topical sections. For each, give a title, a "
              "short summary, keywords and the page numbers it covers. Answer only by calling 'submit_sections'.")
    sections: list[dict[str, Any]] = []
    for group in _page_groups(pages, budget) if pages else []:
        found = _forced_call(ctx, _one_shot(system, _page_text(group)), _SECTIONS_TOOL).get("sections")
        if not isinstance(found, list) or not all(
                isinstance(s, dict) and isinstance(s.get("title"), str) and isinstance(s.get("summary"), str)
                and isinstance(s.get("page_references"), list) and all(type(n) is int for n in s["page_references"])
                for s in found):
            raise NodeError("the model's sections are not a list of {title, summary, keywords, page_references}")
        sections += [{"title": s["title"], "summary": s["summary"], "keywords": _strings(s.get("keywords"), "keywords"),
                      "page_references": s["page_references"]} for s in found]
    ctx.set("sections", sections)
    ctx.activate("exec_out")
