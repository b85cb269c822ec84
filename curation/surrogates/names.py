"""Surrogates of words: names (NOM, PRENOM), places (VILLE, ADRESSE, HOPITAL) and e-mails.

Drawn from Faker ``fr_FR`` (its first and last name lists, cities, streets, mail domains).
Each function returns the surrogate in Faker's natural (title) case; the caller writes it in
the original's casing. A surrogate is never the original itself (compared accent- and
case-insensitively).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from faker.providers.internet.fr_FR import Provider as InternetProvider
from faker.providers.person.fr_FR import Provider as PersonProvider

from curation.surrogates.text import ascii_slug, casing, fold, fold_same_length

if TYPE_CHECKING:
    from curation.surrogates.generators import DocContext, PatientSurrogates

MALE_FIRST_NAMES: tuple[str, ...] = tuple(PersonProvider.first_names_male)
FEMALE_FIRST_NAMES: tuple[str, ...] = tuple(PersonProvider.first_names_female)
FIRST_NAMES: tuple[str, ...] = MALE_FIRST_NAMES + FEMALE_FIRST_NAMES
LAST_NAMES: tuple[str, ...] = tuple(PersonProvider.last_names)
_MALE_KEYS = frozenset(fold(n) for n in MALE_FIRST_NAMES)
_FEMALE_KEYS = frozenset(fold(n) for n in FEMALE_FIRST_NAMES)
_FIRST_KEYS = _MALE_KEYS | _FEMALE_KEYS
_LAST_KEYS = frozenset(fold(n) for n in LAST_NAMES)

#: Free mail providers: a surrogate address at one of them stays at a free provider.
FREE_MAIL_DOMAINS: tuple[str, ...] = tuple(InternetProvider.free_email_domains)
_FREE_KEYS = frozenset(FREE_MAIL_DOMAINS) | {
    "gmail.fr",
    "hotmail.com",
    "outlook.fr",
    "outlook.com",
    "live.fr",
    "yahoo.com",
    "icloud.com",
    "neuf.fr",
    "bbox.fr",
    "aol.com",
    "aliceadsl.fr",
    "numericable.fr",
    "protonmail.com",
    "proton.me",
}
#: Institutional domain prefixes kept in a surrogate domain (``chu-nord.fr`` -> ``chu-lyon.fr``).
_DOMAIN_PREFIXES = ("chru", "chu", "chr", "chi", "ch", "aphp", "ap-hp", "clcc", "gh", "clinique")
#: Words of a mailbox that identify nobody; other words of a rebuilt local part are drawn.
_MAILBOX_WORDS = frozenset(
    (
        "dr",
        "pr",
        "docteur",
        "contact",
        "secretariat",
        "secretaire",
        "cabinet",
        "consultation",
        "consultations",
        "info",
        "infos",
        "rdv",
        "accueil",
        "service",
        "direction",
        "medecin",
    )
)

#: Kinds of health facility, folded, longest first: kept in a surrogate hospital name.
_HOSPITAL_KINDS = tuple(
    sorted(
        (
            "centre hospitalier regional universitaire",
            "centre hospitalier universitaire",
            "centre hospitalier regional",
            "centre hospitalier intercommunal",
            "centre hospitalier",
            "centre de lutte contre le cancer",
            "institut de cancerologie",
            "groupe hospitalier",
            "groupement hospitalier",
            "hopital prive",
            "hopital",
            "polyclinique",
            "clinique",
            "institut",
            "chru",
            "chu",
            "chr",
            "chi",
            "ch",
            "clcc",
            "gh",
        ),
        key=len,
        reverse=True,
    )
)
_HOSPITAL_TEMPLATES = (
    "Centre Hospitalier de {city}",
    "Centre Hospitalier Universitaire de {city}",
    "CHU de {city}",
    "Hôpital {saint}",
    "Clinique {saint}",
    "Hôpital privé de {city}",
    "Institut de cancérologie de {city}",
)
_LINK = re.compile(r"\s+(?:de\s+la|de\s+l'|de\s+l’|du|des|de|d'|d’)\s*", re.IGNORECASE)
_SAINT = re.compile(r"\s*(?P<saint>saint|sainte|st|ste)[-\s]+(?P<name>\S.*)", re.IGNORECASE)
_TRIES = 20


def reveals(candidate: str, original: str) -> bool:
    """Whether ``candidate`` shows ``original`` as a whole word (accent- and case-insensitive).

    >>> reveals("Bernier-la-Forêt", "BERNIER"), reveals("Bernard", "Bernier")
    (True, False)
    """
    word = fold(original)
    return bool(word) and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", fold(candidate)) is not None


def _pick(rng: random.Random, pool: Sequence[str], original: str) -> str:
    """A name of ``pool`` that does not show ``original``."""
    return _draw_other(lambda: rng.choice(pool), original)


def _draw_other(draw: Callable[[], str], original: str) -> str:
    """``draw()`` again while the result shows the original (Faker's ``Bernier-la-Forêt``)."""
    value = draw()
    for _ in range(_TRIES):
        if not reveals(value, original):
            break
        value = draw()
    return value


def gender_of(first_name: str) -> str | None:
    """``M`` or ``F`` from Faker fr_FR's first-name lists; ``None`` when unknown or both.

    A compound name takes the gender of its first part (``Jean-Marie`` is a man's name).

    >>> gender_of("Hélène"), gender_of("JACQUES"), gender_of("Jean-Marie"), gender_of("Zorg")
    ('F', 'M', 'M', None)
    """
    key = fold(first_name)
    for candidate in (key, re.split(r"[-\s]", key)[0]):
        male, female = candidate in _MALE_KEYS, candidate in _FEMALE_KEYS
        if male != female:
            return "M" if male else "F"
    return None


def is_initials(text: str) -> bool:
    """``J.``, ``J``, ``J.-P.``: one to three single letters, with dots when more than one.

    >>> is_initials("J."), is_initials("J.-P."), is_initials("Jo"), is_initials("JP")
    (True, True, False, False)
    """
    letters = re.findall(r"[^\W\d_]+", text)
    if not letters or len(letters) > 3 or any(len(t) != 1 for t in letters):
        return False
    return len(letters) == 1 or "." in text


def first_name(p: PatientSurrogates, original: str) -> str:
    """PRENOM: a Faker first name, of the same gender when ``keep_gender`` and it is known.

    Initials stay initials (``J.`` -> ``M.``) and compound names stay compound
    (``Jean-Pierre`` -> ``Louis-Henri``), part by part, so ``Jean`` alone maps the same way.
    """
    if is_initials(original):
        return re.sub(r"[^\W\d_]", lambda m: _initial(p, m.group(0)), original)
    gender = gender_of(original) if p.config.keep_gender else None
    parts = original.split("-")
    if len(parts) > 1 and all(part.strip() for part in parts):
        return "-".join(_first(p, part.strip(), gender) for part in parts)
    return _first(p, original, gender)


def _first(p: PatientSurrogates, value: str, gender: str | None) -> str:
    pool = {"M": MALE_FIRST_NAMES, "F": FEMALE_FIRST_NAMES}.get(gender or "", FIRST_NAMES)
    return _pick(p.rng("PRENOM", gender or "", fold(value)), pool, value)


def _initial(p: PatientSurrogates, letter: str) -> str:
    rng = p.rng("PRENOM_INITIAL", fold(letter))
    drawn = _draw_other(lambda: rng.choice(FIRST_NAMES)[0], letter)
    return drawn.upper() if letter.isupper() else drawn.lower()


def last_name(p: PatientSurrogates, original: str) -> str:
    """NOM: a Faker last name; a double name (``Dupont-Durand``) gets one per part."""
    parts = original.split("-")
    if len(parts) > 1 and all(part.strip() for part in parts):
        return "-".join(_last(p, part.strip()) for part in parts)
    return _last(p, original)


def _last(p: PatientSurrogates, value: str) -> str:
    return _pick(p.rng("NOM", fold(value)), LAST_NAMES, value)


def city(p: PatientSurrogates, original: str) -> str:
    """VILLE: a Faker fr_FR city."""
    fake = p.faker(p.rng("VILLE", fold(original)))
    return _draw_other(fake.city, original)


def address(p: PatientSurrogates, original: str) -> str:
    """ADRESSE: a Faker street, with a number when the original has one.

    A postcode and city written in the mention (``12 rue X, 75013 Paris``) are replaced too.
    """
    fake = p.faker(p.rng("ADRESSE", fold(original)))
    numbered = bool(re.match(r"\d", original))
    street = fake.street_address() if numbered else fake.street_name()
    if numbered and not re.match(r"\d+\s*,", original):
        street = re.sub(r"^(\d+),", r"\1", street)
    if re.search(r"\b\d{5}\b", original):
        sep = "\n" if "\n" in original else ", "
        street = f"{street}{sep}{fake.postcode()} {fake.city()}"
    return street


def hospital(p: PatientSurrogates, original: str) -> str:
    """HOPITAL: the same kind of facility, elsewhere.

    ``Centre Hospitalier de Lemoineboeuf`` keeps ``Centre Hospitalier de`` and gets the
    patient's surrogate of the city (the VILLE surrogate, so both agree);
    ``Hôpital Saint-Louis`` gets another saint; any other name a Faker-built one.
    """
    folded = fold_same_length(original)
    rng = p.rng("HOPITAL", fold(original))
    for kind in _HOSPITAL_KINDS:
        end = len(kind)
        if folded.startswith(kind) and (end == len(folded) or not folded[end].isalnum()):
            prefix, rest = original[:end], original[end:]
            if link := _LINK.match(rest):
                place = rest[link.end() :]
                if place.strip():
                    return prefix + link.group(0) + p.base("VILLE", place.strip())
            if saint := _SAINT.fullmatch(rest):
                return f"{prefix} {_saint(p, saint.group('saint'), saint.group('name'))}"
            return f"{prefix} de {_draw_other(p.faker(rng).city, original)}"
    fake = p.faker(rng)
    template = rng.choice(_HOSPITAL_TEMPLATES)
    holy = _saint(p, rng.choice(("Saint", "Sainte")), fold(original))
    return _draw_other(lambda: template.format(city=fake.city(), saint=holy), original)


def _saint(p: PatientSurrogates, word: str, name: str) -> str:
    female = fold(word) in ("sainte", "ste")
    pool = FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES
    drawn = _pick(p.rng("HOPITAL_SAINT", fold(word), fold(name)), pool, name)
    return f"{'Sainte' if female else 'Saint'}-{drawn}"


def mail(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
    """MAIL: rebuilt from the surrogate names when the local part holds names, else drawn.

    A token of the local part is a name when the document has it as a NOM or PRENOM span, or
    when it is in Faker fr_FR's name lists: ``julien.robin@free.fr`` becomes
    ``<prénom>.<nom>@<free provider>`` with the patient's surrogates of Julien and Robin.
    A free provider stays a free provider; an institution's domain keeps its kind
    (``chu-nord.fr`` -> ``chu-<city>.fr``). Digits are drawn again.
    """
    local, at, domain = original.rpartition("@")
    if not at:
        local, domain = original, ""
    rng = p.rng("MAIL", fold(local))
    tokens = re.split(r"([._+\-]|\d+)", local)
    alpha = [i for i, t in enumerate(tokens) if t and t.isalpha()]
    labels = {i: _name_label(tokens[i], i == (alpha[0] if alpha else -1), ctx) for i in alpha}
    if any(label is not None and len(tokens[i]) > 1 for i, label in labels.items()):
        out = []
        for i, token in enumerate(tokens):
            label = labels.get(i)
            if token.isdigit():
                out.append("".join(str(rng.randrange(10)) for _ in token))
            elif not token.isalpha():
                out.append(token)
            elif len(token) == 1:
                out.append(_mail_initial(p, token, ctx))
            elif label is not None:
                out.append(ascii_slug(p.base(label, token)))
            elif fold(token) in _MAILBOX_WORDS:
                out.append(token)
            else:
                out.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in token))
        new_local = "".join(out)
    else:
        new_local = _draw_other(p.faker(rng).user_name, local)
    if casing(local) == "upper":
        new_local = new_local.upper()
    return f"{new_local}@{_domain(p, domain)}" if at else new_local


def _mail_initial(p: PatientSurrogates, letter: str, ctx: DocContext) -> str:
    """``a`` of ``a.simon@...``: the initial of the surrogate of the document's first name
    with that initial (``Anne`` -> ``Julie``: ``j``), else the patient's initial mapping."""
    key = fold(letter)
    names = sorted(n for n, label in ctx.names.items() if label == "PRENOM" and n[:1] == key)
    value = p.base("PRENOM", names[0]) if names else p.base("PRENOM", letter)
    return ascii_slug(value)[:1] or key


def _name_label(token: str, first: bool, ctx: DocContext) -> str | None:
    key = fold(token)
    if key in ctx.names:
        return ctx.names[key]
    is_first, is_last = key in _FIRST_KEYS, key in _LAST_KEYS
    if is_first and is_last:
        return "PRENOM" if first else "NOM"
    if is_first:
        return "PRENOM"
    return "NOM" if is_last else None


def _domain(p: PatientSurrogates, domain: str) -> str:
    key = fold(domain)
    rng = p.rng("MAIL_DOMAIN", key)
    if key in _FREE_KEYS:
        return rng.choice(FREE_MAIL_DOMAINS)
    labels = key.split(".")
    tld = labels[-1] if len(labels) > 1 else "fr"
    fake = p.faker(rng)
    prefix = next(
        (k for k in _DOMAIN_PREFIXES if labels[0] == k or labels[0].startswith(k + "-")), None
    )
    name = f"{prefix}-{ascii_slug(fake.city())}" if prefix else ascii_slug(fake.domain_word())
    return f"{name}.{tld}"
