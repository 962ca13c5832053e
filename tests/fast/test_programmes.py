"""The group-programme finder: content/programmes.yml read as the bot reads it, every programme
reachable by someone it is for and never shown to someone it is not for, and the finder's two
questions and answers as a person sees them (the action run in-process)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml

from actions.programmes import ActionFindProgrammes
from bot import PROJECT_ROOT
from bot.core import programmes
from bot.core.languages import SUPPORTED
from bot.core.programmes import MAX_SUGGESTIONS, Place, Profile, Programme, Who
from tests.fast.test_actions import run, texts, tracker

PROGRAMMES = programmes.load()
BY_ID = {programme.id: programme for programme in PROGRAMMES}
PROFILES = [Profile(language, place, who) for language, place, who in itertools.product(SUPPORTED, Place, Who)]


def shown(profile: Profile) -> list[Programme]:
    return programmes.suggestions(PROGRAMMES, profile)


def test_every_programme_the_bot_suggests_is_reachable_by_someone_it_is_for():
    reached = {programme.id for profile in PROFILES for programme in shown(profile)}
    suggested = {programme.id for programme in PROGRAMMES if programme.suggested}
    assert suggested - reached == set()
    assert len(suggested) >= 15, "the guide's adult programmes are in the file"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.language}-{p.place.value}-{p.who.value}")
def test_no_programme_is_suggested_to_someone_it_is_not_for(profile: Profile):
    for programme in shown(profile):
        assert programme.suggested
        if programme.gender == "women":
            assert profile.who is Who.WOMAN, programme.id
        if programme.gender == "men":
            assert profile.who is Who.MAN, programme.id
        if programme.parents:
            assert profile.who is Who.PARENT, programme.id
        if "ukrainian" in programme.groups:
            assert profile.who is Who.UKRAINIAN or profile.language == "uk", programme.id
        if profile.place is Place.AZC and programme.residence:
            assert "azc" in programme.residence, programme.id
        if profile.place is Place.HOME and programme.residence:
            assert "municipality" in programme.residence, programme.id
        if programme.languages:
            assert profile.language in programme.languages or "interpreter" in programme.languages, programme.id


def test_a_programme_made_for_someone_comes_first_for_them():
    assert shown(Profile("uk", Place.HOME, Who.UKRAINIAN))[0].id == "empatia_workshops"
    assert shown(Profile("ar", Place.AZC, Who.WOMAN))[0].id == "sgbv_bespreekbaar_maken"
    first = shown(Profile("ar", Place.AZC, Who.PARENT))[0]
    assert first.parents and "ar" in first.languages
    assert shown(Profile("fa", Place.AZC, Who.ANY))[0].id == "bamboo_adults", "in Persian, at the azc"


def test_websites_are_shown_and_staff_e_mail_addresses_are_not():
    assert programmes.websites("www.x.nl; anna@x.nl") == ("www.x.nl",)
    for programme in PROGRAMMES:
        assert all("@" not in site for site in programme.websites)


@pytest.mark.parametrize("language", [code for code in SUPPORTED if code != "en"])
def test_every_programme_is_described_in_every_language(language: str):
    about = programmes.translated_about(language)
    assert set(about) == {programme.id for programme in PROGRAMMES}
    assert all(text.strip() and text != BY_ID[key].about for key, text in about.items())


def test_every_fact_names_where_in_the_guide_it_comes_from():
    data = yaml.safe_load((PROJECT_ROOT / "content" / "programmes.yml").read_text(encoding="utf-8"))
    assert all(entry.get("source_lines") for entry in data["programmes"])


def test_a_broken_file_gives_an_error_that_names_it(tmp_path: Path):
    broken = tmp_path / "programmes.yml"
    broken.write_text("programmes:\n  - id: x\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(programmes.ProgrammesError, match=r"programmes\.yml"):
        programmes.load(broken)


# --- The finder, as the person sees it ------------------------------------------------------------


def pressed(language: str, **answers) -> tuple[list[dict], list[str]]:
    entities = [{"entity": name, "value": value} for name, value in answers.items()]
    messages, _ = run(ActionFindProgrammes(), tracker("ask_group_programmes", entities=entities, language=language))
    return messages, texts(messages)


def payload_answers(button: dict) -> dict:
    _, _, answers = button["payload"].partition("{")
    return json.loads("{" + answers) if answers else {}


@pytest.mark.parametrize("language", SUPPORTED)
def test_two_questions_then_the_programmes_that_fit_in_the_persons_language(language: str):
    messages, [_question] = pressed(language)
    where = messages[0]["buttons"]
    assert len(where) == 3 and [payload_answers(b)["place"] for b in where] == ["azc", "home", "any"]
    assert all(len(button["payload"].encode()) <= 64 for button in where), "Telegram's limit for a button"

    messages, [_question] = pressed(language, place="azc")
    who = messages[0]["buttons"]
    assert [payload_answers(b)["who"] for b in who] == ["woman", "man", "parent", "ukrainian", "any"]
    assert all(len(button["payload"].encode()) <= 64 for button in who)

    messages, replies = pressed(language, place="azc", who="parent")
    expected = shown(Profile(language, Place.AZC, Who.PARENT))[:MAX_SUGGESTIONS]
    described = replies[1:-1]
    assert len(described) == len(expected) > 0
    about = programmes.translated_about(language)
    for programme, text in zip(expected, described, strict=True):
        assert programme.name in text
        assert about.get(programme.id, programme.about) in text, "described in the person's language"
    assert "{" not in "".join(replies), "every placeholder is filled"
    assert all(len(button["payload"].encode()) <= 64 for button in messages[-1]["buttons"])


def test_more_programmes_come_a_page_at_a_time_and_none_twice():
    profile = Profile("en", Place.ANY, Who.ANY)
    every = shown(profile)
    assert len(every) > MAX_SUGGESTIONS
    seen: list[str] = []
    answers: dict = {"place": "any", "who": "any"}
    while answers:
        messages, replies = pressed("en", **answers)
        seen += [
            programme.name for programme in every if any(text.startswith(f"👥 {programme.name}") for text in replies)
        ]
        more = [b for b in messages[-1]["buttons"] if payload_answers(b).get("page")]
        answers = payload_answers(more[0]) if more else {}
    assert seen == [programme.name for programme in every]


def test_an_answer_that_is_not_known_asks_again():
    _, [question] = pressed("en", place="moon")
    assert question.endswith("Where do you live?")
