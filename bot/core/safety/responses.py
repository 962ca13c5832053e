"""What the person sees right after the safety screen found risk. Never depends on Rasa.

Texts come from the catalogs (context "safety"); numbers and routes from
content/resources/<country>.yml. The GP route depends on where the person lives, which is asked
once and remembered.
"""

from __future__ import annotations

from bot.core.i18n import Catalogs, Translator
from bot.core.protocol import Button
from bot.core.resources import load_resources
from bot.core.safety.screen import Assessment, Level

RESIDENCE_AZC = "azc"
RESIDENCE_MUNICIPALITY = "municipality"
#: Does not know, or would rather not say (a municipal or emergency shelter, temporary protection):
#: both routes are shown.
RESIDENCE_OTHER = "other"
RESIDENCES = (RESIDENCE_AZC, RESIDENCE_MUNICIPALITY, RESIDENCE_OTHER)


def _fill(text: str) -> str:
    return text.format(**load_resources())


def _azc_route(t: Translator) -> str:
    return _fill(
        t.pgettext(
            "safety",
            "People who live in a reception centre (azc) can call the {gp_azc_line_name} at any time: "
            "{gp_azc_line_phone}. You can ask for an interpreter.",
        )
    )


def _own_doctor_route(t: Translator) -> str:
    return t.pgettext(
        "safety",
        "People who live in a town call their own doctor (huisarts). In the evening, at night and at the "
        "weekend, call the out-of-hours doctors' service (huisartsenpost).",
    )


def gp_route(t: Translator, residence: str | None) -> tuple[str, list[Button]]:
    """How to reach a doctor, or the question where the person lives (never their address)."""
    please = t.pgettext("safety", "Please also contact a doctor.")
    if residence == RESIDENCE_AZC:
        return f"{please} {_azc_route(t)}", []
    if residence == RESIDENCE_MUNICIPALITY:
        return f"{please} {_own_doctor_route(t)}", []
    if residence == RESIDENCE_OTHER:
        return f"{please}\n• {_azc_route(t)}\n• {_own_doctor_route(t)}", []
    question = t.pgettext(
        "safety",
        "Please also contact a doctor. Do you live in an asylum centre (azc) or somewhere else? I only ask so "
        "I can show you the right doctor. I do not need your address.",
    )
    return question, [
        Button(t.pgettext("button", "🏠 In an asylum centre (azc)"), f"/residence {RESIDENCE_AZC}"),
        Button(t.pgettext("button", "🏘️ In a house in a town"), f"/residence {RESIDENCE_MUNICIPALITY}"),
        Button(t.pgettext("button", "🤷 Somewhere else, or I'd rather not say"), f"/residence {RESIDENCE_OTHER}"),
    ]


def emergency_numbers(t: Translator) -> str:
    return _fill(
        t.pgettext(
            "safety",
            "If your life is in danger right now, call {emergency_number}.\n"
            "You can talk to {crisis_line_name} at any time, day and night: call {crisis_line_phone} "
            "or {crisis_line_free_phone} (free), or chat at {crisis_line_chat}.",
        )
    )


def crisis_line_for_distress(t: Translator) -> str:
    """For severe distress: 113 too, because its signs overlap with thoughts nobody said aloud."""
    return _fill(
        t.pgettext(
            "safety",
            "If you have thoughts of not wanting to live, you can talk to {crisis_line_name} day and night: "
            "call {crisis_line_phone} or {crisis_line_free_phone} (free), or chat at {crisis_line_chat}.",
        )
    )


def calm_button(t: Translator) -> Button:
    return Button(t.pgettext("button", "🌬️ Calming exercise"), "/ask_stress")


def person_button(t: Translator) -> Button:
    """Asks for a coordinator; the answer says honestly when one will write (office hours)."""
    return Button(t.pgettext("button", "🙋 Ask for a person"), "/request_human")


#: The answers to the direct question (Level.ASK).
ANSWER_YES, ANSWER_NO = "/safety_yes", "/safety_no"


def question(t: Translator) -> list[tuple[str, list[Button]]]:
    """Asked when the screen is unsure: directly and kindly, as 113 and the WHO advise."""
    text = t.pgettext(
        "safety",
        "Thank you for writing to me. I want to ask you something directly, because it matters: are you "
        "thinking about ending your life?",
    )
    return [
        (
            text,
            [
                Button(t.pgettext("button", "Yes, I am"), ANSWER_YES),
                Button(t.pgettext("button", "No, I am not"), ANSWER_NO),
            ],
        )
    ]


def answered_no(t: Translator) -> list[tuple[str, list[Button]]]:
    text = t.pgettext(
        "safety",
        "Thank you for telling me. I am glad. If that ever changes, you can always tell me, and I will show you "
        "who can help, day and night.",
    )
    return [(text, [])]


def violence_messages(t: Translator) -> list[tuple[str, list[Button]]]:
    """Violence at home is a different emergency: 112, and Veilig Thuis."""
    text = t.pgettext(
        "safety",
        "I am sorry this is happening to you. Nobody has the right to hurt you or your children.\n"
        "If you are in danger right now, call {emergency_number}.\n"
        "{violence_line_name} helps with violence at home: call {violence_line_phone}, free, day and night. "
        "You do not have to give your name.",
    )
    return [(_fill(text), [person_button(t)])]


def still_here(t: Translator) -> tuple[str, list[Button]]:
    text = t.pgettext("safety", "I am still here. You can keep writing to me, or do a short calming exercise with me.")
    return text, [calm_button(t), person_button(t)]


def repeated_crisis_messages(
    catalogs: Catalogs, language: str, residence: str | None
) -> list[tuple[str, list[Button]]]:
    """For another risk message soon after the crisis reply: the numbers again, the person's own
    GP route once they said where they live, and "I am still here"; not the whole reply again (the
    coordinators see the new message)."""
    t = catalogs.for_language(language)
    doctor = [gp_route(t, residence)] if residence in RESIDENCES else []
    return [(emergency_numbers(t), []), *doctor, still_here(t)]


def crisis_messages(
    catalogs: Catalogs, language: str, assessment: Assessment, residence: str | None
) -> list[tuple[str, list[Button]]]:
    """The messages for a risk level, in order, each with its buttons."""
    t = catalogs.for_language(language)
    if assessment.level is Level.ACUTE:
        return [
            (
                t.pgettext(
                    "safety",
                    "Thank you for telling me. I am glad you wrote. "
                    "You matter, and you do not have to go through this alone.",
                ),
                [],
            ),
            (emergency_numbers(t), []),
            gp_route(t, residence),
            still_here(t),
        ]
    if assessment.level is Level.ASK:
        return question(t)
    if assessment.level is Level.VIOLENCE:
        return violence_messages(t)
    if assessment.level is Level.THIRD_PARTY:
        return [
            (
                _fill(
                    t.pgettext(
                        "safety",
                        "It is good that you want to help. "
                        "If their life is in danger right now, call {emergency_number}.\n"
                        "{crisis_line_name} is there day and night: call {crisis_line_phone} "
                        "or {crisis_line_free_phone} (free), or chat at {crisis_line_chat}. "
                        "You can also call them yourself to ask how to help.",
                    )
                ),
                [Button(t.pgettext("button", "🤝 Help someone"), "/help_someone")],
            ),
        ]
    return [
        (
            t.pgettext(
                "safety",
                "Thank you for telling me. What you describe sounds very heavy. Feelings like these can be signs of "
                "severe emotional distress, and a doctor can help with them.",
            ),
            [],
        ),
        gp_route(t, residence),
        (crisis_line_for_distress(t), []),
        (
            t.pgettext("safety", "For right now, a short calming exercise may help a little."),
            [calm_button(t), person_button(t)],
        ),
    ]


def residence_confirmation(catalogs: Catalogs, language: str, residence: str) -> list[tuple[str, list[Button]]]:
    t = catalogs.for_language(language)
    text, buttons = gp_route(t, residence)
    return [(t.pgettext("safety", "Thank you. I will remember this."), []), (text, buttons)]


def check_in(catalogs: Catalogs, language: str) -> list[tuple[str, list[Button]]]:
    """Asked once, a few messages after a crisis: how the person is now, and the numbers again."""
    t = catalogs.for_language(language)
    text = t.pgettext(
        "safety",
        "Earlier you told me that things were very hard. How are you now? If it gets too much, "
        "{crisis_line_name} is there day and night: call {crisis_line_phone} or {crisis_line_free_phone} (free), "
        "or chat at {crisis_line_chat}. If your life is in danger, call {emergency_number}.",
    )
    return [(_fill(text), [calm_button(t)])]


def not_understood_after_crisis(catalogs: Catalogs, language: str) -> list[tuple[str, list[Button]]]:
    """Instead of "Sorry, I did not understand" in the day after a crisis: the door stays open."""
    t = catalogs.for_language(language)
    text = t.pgettext(
        "safety",
        "I did not understand everything you wrote; I am only a simple program. But I am here, and what you "
        "write matters. If it gets too much, {crisis_line_name} is there day and night: call "
        "{crisis_line_phone} or {crisis_line_free_phone} (free), or chat at {crisis_line_chat}. "
        "If your life is in danger, call {emergency_number}.",
    )
    return [(_fill(text), [calm_button(t), person_button(t)])]
