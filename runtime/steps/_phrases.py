"""What Arbor says on its own (a re-ask, an apology, a handover notice), in the languages it ships: English,
Czech, German.

Keyed by the English text, so a step module reads as before and a language without an entry says English.
A bot that wants other words writes its own (a question's `retry`, an integration's `onError` message),
and translates them like any other text.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "cs": {
        "Sorry, I did not understand that.": "Promiňte, tomu jsem nerozuměl.",
        "Please type an answer.": "Napište prosím odpověď.",
        "That does not look like an e-mail address. Please try again.":
            "To nevypadá jako e-mailová adresa. Zkuste to prosím znovu.",
        "That does not look like a phone number. Please try again.":
            "To nevypadá jako telefonní číslo. Zkuste to prosím znovu.",
        "Please answer with a number.": "Odpovězte prosím číslem.",
        "Please answer with a date, for example 2025-01-31 or 31.1.2025.":
            "Odpovězte prosím datem, například 31. 1. 2025.",
        "That answer does not have the expected form. Please try again.":
            "Odpověď nemá očekávaný tvar. Zkuste to prosím znovu.",
        "Sorry, something went wrong on our side and I cannot go on right now. Please try again later.":
            "Promiňte, u nás se něco pokazilo a teď nemohu pokračovat. Zkuste to prosím později.",
        "{name} joined the conversation.": "{name} se připojuje ke konverzaci.",
        "{name} left the conversation.": "{name} opouští konverzaci.",
        "The bot took over the conversation again.": "Konverzaci znovu převzal bot.",
        "Please sign in to go on.": "Pro pokračování se prosím přihlaste.",
        "Sign in": "Přihlásit se",
    },
    "de": {
        "Sorry, I did not understand that.": "Entschuldigung, das habe ich nicht verstanden.",
        "Please type an answer.": "Bitte geben Sie eine Antwort ein.",
        "That does not look like an e-mail address. Please try again.":
            "Das sieht nicht wie eine E-Mail-Adresse aus. Bitte versuchen Sie es noch einmal.",
        "That does not look like a phone number. Please try again.":
            "Das sieht nicht wie eine Telefonnummer aus. Bitte versuchen Sie es noch einmal.",
        "Please answer with a number.": "Bitte antworten Sie mit einer Zahl.",
        "Please answer with a date, for example 2025-01-31 or 31.1.2025.":
            "Bitte antworten Sie mit einem Datum, zum Beispiel 31.1.2025.",
        "That answer does not have the expected form. Please try again.":
            "Die Antwort hat nicht die erwartete Form. Bitte versuchen Sie es noch einmal.",
        "Sorry, something went wrong on our side and I cannot go on right now. Please try again later.":
            "Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es später noch einmal.",
        "{name} joined the conversation.": "{name} ist der Unterhaltung beigetreten.",
        "{name} left the conversation.": "{name} hat die Unterhaltung verlassen.",
        "The bot took over the conversation again.": "Der Bot hat die Unterhaltung wieder übernommen.",
        "Please sign in to go on.": "Bitte melden Sie sich an, um fortzufahren.",
        "Sign in": "Anmelden",
    },
}


def phrase(language: str, english: str) -> str:
    """`english` in `language` (its base language: "cs" for "cs-CZ"), or English when Arbor has no words for it."""
    table = PHRASES.get(language.partition("-")[0])
    return table.get(english, english) if table else english
