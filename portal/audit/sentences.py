"""How the audit log reads: one sentence per entry, in the viewer's language, with links to
what it names ("Hanako Sato verified Taro Yamada's LINK-J membership until 31 March 2027").

The audit area knows no area's records. Each area registers here how to load the records its
entries name (``register_subject``: ids → records, one statement for a page's entries of that
kind) and a sentence per action it records (``register``). An action nobody registered, or
whose record is gone, falls back to its label in the log's template.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from portal.audit.models import AuditEntry
from portal.i18n import person_name
from portal.language import gettext as _

#: Loads the records of one subject type: ids → {id: record}.
SubjectLoader = Callable[[Iterable[int]], Mapping[int, Any]]
#: Writes one entry: (entry, its record or None, who acted, as markup) → the sentence.
Sentence = Callable[[AuditEntry, Any, Markup], Markup | None]

_LOADERS: dict[str, SubjectLoader] = {}
_SENTENCES: dict[str, Sentence] = {}


def register_subject(subject_type: str, loader: SubjectLoader) -> None:
    _LOADERS[subject_type] = loader


def register(action: str, sentence: Sentence) -> None:
    """The sentence for one action (again: an app built twice replaces it)."""
    _SENTENCES[action] = sentence


def link(text: str, url: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, text)


def fill(template: Any, **values: Any) -> Markup:
    """A translated sentence (a lazy one is translated now, in the viewer's language) whose
    placeholders take markup (links) or text, escaped."""
    return escape(str(template)) % {k: escape(v) for k, v in values.items()}


def actor_of(entry: AuditEntry) -> Markup:
    if entry.actor_id is None:
        return escape(_("The portal"))
    return escape(person_name(entry.actor))


def describe(entries: Iterable[AuditEntry]) -> dict[int, Markup]:
    """Each entry's sentence by entry id (none for an entry that falls back to its label);
    one statement per kind of record named, however many entries."""
    entries = list(entries)
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.action in _SENTENCES and entry.subject_id is not None:
            wanted[entry.subject_type].add(entry.subject_id)
    records = {
        subject_type: _LOADERS[subject_type](ids) if subject_type in _LOADERS else {}
        for subject_type, ids in wanted.items()
    }
    described: dict[int, Markup] = {}
    for entry in entries:
        sentence = _SENTENCES.get(entry.action)
        if sentence is None:
            continue
        record = records.get(entry.subject_type, {}).get(entry.subject_id or -1)
        text = sentence(entry, record, actor_of(entry))
        if text is not None:
            described[entry.id] = text
    return described
