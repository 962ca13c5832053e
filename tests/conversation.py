"""Drives the front end's Assistant against the running Rasa server, one fresh person per call."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import yaml

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_client import RasaClient
from bot.conversation.replies import Reply
from bot.core.i18n import Catalogs
from bot.core.languages import ARABIC_SCRIPT, CYRILLIC, ETHIOPIC
from bot.core.organisation import load_organisation
from bot.core.resources import load_resources
from bot.core.safety.nets import RiskScreen
from bot.settings import DEFAULT_RETENTION_DAYS
from bot.storage.users import MemoryUserStore

ROOT = Path(__file__).resolve().parent.parent


def converse(
    rasa_url: str, language: str, messages: list[str], auth_token: str = "test-token", screen: RiskScreen | None = None
) -> list[list[Reply]]:
    """Sends the messages in order as one new person who chose `language`, as the bot does (with
    the token of Rasa's HTTP API, which the safety screen uses to recognise the bot's topics).
    `screen`: another safety screen than the bot's (for example the word lists alone)."""

    async def go() -> list[list[Reply]]:
        client = RasaClient(rasa_url, auth_token)
        assistant = Assistant(client, MemoryUserStore(), Catalogs(), screen=screen)
        user = f"test-{uuid.uuid4().hex}"
        assistant.users.set_language(user, language)
        try:
            return [await assistant.handle_text(user, message) for message in messages]
        finally:
            await client.close()

    return asyncio.run(go())


def english_response(name: str, variation: int = -1) -> dict:
    """A response as written in domain/responses.yml (the English source)."""
    responses = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text(encoding="utf-8"))["responses"]
    return responses[name][variation]


def expected_text(language: str, response: str, variation: int = -1, **extra: str) -> str:
    """The text a person should see: the catalog's translation with the placeholders filled."""
    english = english_response(response, variation)["text"]
    values = {
        **load_resources(),
        **load_organisation().variables(language),
        "retention_days": str(DEFAULT_RETENTION_DAYS),
        **extra,
    }
    return Catalogs().pgettext(language, response, english).format(**values)


def article_title(language: str, topic: str) -> str:
    first_line = (ROOT / "content" / language / f"{topic}.md").read_text(encoding="utf-8").splitlines()[0]
    return first_line.removeprefix("# ").strip()


def texts(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def buttons(replies: list[Reply]) -> list[tuple[str, str]]:
    return [(button.title, button.payload) for reply in replies for button in reply.buttons]


def looks_written_in(language: str, text: str) -> bool:
    """A cheap script check: Arabic script for ar/fa, Cyrillic for uk/ru, Ge'ez for ti."""
    if language in ("ar", "fa"):
        return bool(ARABIC_SCRIPT.search(text))
    if language in ("uk", "ru"):
        return bool(CYRILLIC.search(text))
    if language == "ti":
        return bool(ETHIOPIC.search(text))
    return True


#: A message in each language that asks for a topic in the person's own words.
ASK = {
    "en": {
        "groups": "is there some group where refugees meet and learn to handle stress together",
        "sleep": "I keep waking up at night and can't get back to sleep",
        "stress": "I'm so anxious my hands shake",
        "book": "could I speak with one of your volunteers?",
        "switch": "can you write to me in Spanish?",
        "grief": "my grandmother passed away last month and I miss her so much",
    },
    "nl": {
        "groups": "bestaat er een groep voor vluchtelingen om samen over stress te praten",
        "sleep": "ik word steeds wakker en kan niet meer slapen",
        "stress": "ik ben zo angstig dat mijn handen trillen",
        "book": "kan ik met een van jullie vrijwilligers spreken?",
        "switch": "kun je in het spaans schrijven?",
        "grief": "mijn oma is vorige maand overleden en ik mis haar heel erg",
    },
    "ar": {
        "groups": "في مجموعات دعم للاجئين نلتقي فيها ونتكلم عن الضغط النفسي؟",
        "sleep": "بصحى بالليل وما بقدر ارجع نام",
        "stress": "انا متوتر كتير وايديي عم ترجف",
        "book": "بقدر احكي مع متطوع عندكم؟",
        "switch": "ممكن تكتبلي بالاسباني؟",
        "grief": "جدتي توفت الشهر الماضي واشتقتلها كتير",
    },
    "fa": {
        "groups": "آیا گروهی هست که پناهنده‌ها با هم درباره استرس صحبت کنند؟",
        "sleep": "شبا بیدار میشم و دیگه خوابم نمیبره",
        "stress": "خیلی استرس دارم دستام میلرزه",
        "book": "میتونم با یکی از داوطلب ها صحبت کنم؟",
        "switch": "میشه اسپانیایی بنویسی؟",
        "grief": "مادربزرگم ماه پیش فوت کرد و خیلی دلم براش تنگ شده",
    },
    "uk": {
        "groups": "чи є групи підтримки для біженців, де можна разом говорити про стрес",
        "sleep": "я прокидаюся вночі і не можу знову заснути",
        "stress": "мені так тривожно, аж руки тремтять",
        "book": "чи можу я поговорити з вашим волонтером?",
        "switch": "можеш писати іспанською?",
        "grief": "моя бабуся померла минулого місяця і я дуже за нею сумую",
    },
    "es": {
        "groups": "hay algún grupo donde refugiados se juntan para hablar del estrés",
        "sleep": "me despierto en la noche y no puedo volver a dormir",
        "stress": "tengo tanta ansiedad que me tiemblan las manos",
        "book": "¿puedo hablar con uno de sus voluntarios?",
        "switch": "¿me puedes escribir en árabe?",
        "grief": "mi abuela falleció el mes pasado y la extraño muchísimo",
    },
}
