"""Group programmes for adults with a refugee background (content/programmes.yml), and which of
them fit a person: where they live, who they are (woman, man, parent, from Ukraine), and the
language they write in.

A programme fits when nothing in its `for` rules the person out, and it is given in their
language or with an interpreter, or the guide does not say which languages (then it comes last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import yaml

from bot import PROJECT_ROOT

PROGRAMMES_FILE = PROJECT_ROOT / "content" / "programmes.yml"
CONTENT_DIR = PROJECT_ROOT / "content"
#: Suggestions shown at a time (then a button for more): more is too much to read on a phone.
MAX_SUGGESTIONS = 4
#: Languages whose speakers are taken to be from Ukraine. Not Russian: many Ukrainians write in
#: Russian, but so do people from elsewhere, and they can answer "from Ukraine" to the question.
UKRAINIAN_LANGUAGES = {"uk"}
INTERPRETER = "interpreter"


class Place(str, Enum):
    AZC = "azc"  # an asylum reception centre
    HOME = "home"  # one's own home in a municipality
    ANY = "any"  # rather not say


class Who(str, Enum):
    WOMAN = "woman"
    MAN = "man"
    PARENT = "parent"
    UKRAINIAN = "ukrainian"
    ANY = "any"  # none of these, or rather not say


class ProgrammesError(ValueError):
    """content/programmes.yml or a translation of it is broken; the message says where."""


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    organisation: str
    about: str
    residence: frozenset[str]
    status: frozenset[str]
    gender: str
    parents: bool
    groups: frozenset[str]
    languages: tuple[str, ...]
    join: tuple[str, ...]
    websites: tuple[str, ...]
    suggested: bool

    @property
    def interpreter(self) -> bool:
        return INTERPRETER in self.languages

    @property
    def spoken(self) -> tuple[str, ...]:
        """The languages it is given in, without "interpreter"."""
        return tuple(code for code in self.languages if code != INTERPRETER)


@dataclass(frozen=True)
class Profile:
    language: str
    place: Place = Place.ANY
    who: Who = Who.ANY

    @property
    def ukrainian(self) -> bool:
        return self.who is Who.UKRAINIAN or self.language in UKRAINIAN_LANGUAGES


_WEBSITE = re.compile(r"^(https?://|www\.)\S+$|^[\w-]+(\.[\w-]+)+(/\S*)?$")


def websites(contact: str) -> tuple[str, ...]:
    """The websites in a contact field ("www.x.nl; name@x.nl"); e-mail addresses of staff are left out."""
    parts = [part.strip() for part in re.split(r"[;,\s]+", contact or "") if part.strip()]
    return tuple(part for part in parts if "@" not in part and _WEBSITE.match(part))


def load(path: Path = PROGRAMMES_FILE) -> list[Programme]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        programmes = []
        for entry in data["programmes"]:
            target = entry.get("for") or {}
            programmes.append(
                Programme(
                    id=str(entry["id"]),
                    name=str(entry["name"]),
                    organisation=str(entry.get("organisation") or ""),
                    about=str(entry["about"]),
                    residence=frozenset(target.get("residence") or ()),
                    status=frozenset(target.get("status") or ()),
                    gender=str(target.get("gender") or "any"),
                    parents=bool(target.get("parents")),
                    groups=frozenset(target.get("groups") or ("any",)),
                    languages=tuple(entry.get("languages") or ()),
                    join=tuple(entry.get("how_to_join") or ()),
                    websites=websites(str(entry.get("contact") or "")),
                    suggested=bool(entry.get("suggested", True)),
                )
            )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ProgrammesError(f"{path} cannot be read: {type(error).__name__}: {error}") from error
    return programmes


def translated_about(language: str, content_dir: Path = CONTENT_DIR) -> dict[str, str]:
    """The `about` texts in a language (content/<language>/programmes.yml); empty when there are none."""
    path = content_dir / language / "programmes.yml"
    if language == "en" or not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {str(key): str(value) for key, value in (data.get("about") or {}).items()}
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise ProgrammesError(f"{path} cannot be read: {type(error).__name__}: {error}") from error


def is_for(programme: Programme, profile: Profile) -> bool:
    """Nothing in the programme's target group rules this person out."""
    if not programme.suggested:
        return False
    if profile.place is Place.AZC and programme.residence and "azc" not in programme.residence:
        return False
    if profile.place is Place.HOME and programme.residence and "municipality" not in programme.residence:
        return False
    if profile.place is Place.AZC and programme.status == {"status_holder"}:
        return False  # for people with a residence permit, who no longer live in an azc
    if programme.gender == "women" and profile.who is not Who.WOMAN:
        return False
    if programme.gender == "men" and profile.who is not Who.MAN:
        return False
    if programme.parents and profile.who is not Who.PARENT:
        return False
    if "ukrainian" in programme.groups and not profile.ukrainian:
        return False
    if "arabic_speaking" in programme.groups and profile.language != "ar":
        return False
    return speaks(programme, profile.language) is not False


def speaks(programme: Programme, language: str) -> bool | None:
    """True: given in the language or with an interpreter; None: the guide does not say; False: not."""
    if language in programme.spoken or programme.interpreter:
        return True
    if not programme.languages:
        return None
    return False


def suggestions(programmes: list[Programme], profile: Profile) -> list[Programme]:
    """The programmes for this person, best first: one made for who they are (parents, women,
    men, Ukrainians), then one given in their own language, then with an interpreter, then the
    ones whose languages the guide does not name. The bot shows them MAX_SUGGESTIONS at a time."""

    def rank(programme: Programme) -> tuple[int, int]:
        made_for_them = programme.parents or programme.gender != "any" or programme.groups != {"any"}
        own_language = profile.language in programme.spoken
        return (-int(made_for_them), -(2 if own_language else 1 if programme.interpreter else 0))

    fitting = [programme for programme in programmes if is_for(programme, profile)]
    return sorted(fitting, key=rank)  # sorted is stable: the file's order breaks ties
