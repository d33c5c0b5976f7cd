"""Text answers from Faker, reproducible per respondent.

Building a Faker per respondent costs milliseconds, so there is one Faker per locale, shared, and
it is re-seeded from the respondent's own RespondentRandom right before each use. Generation never
awaits, so interleaved respondents cannot disturb each other's text: a respondent's answers
depend only on (scenario seed, respondent index).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.core.rng import RespondentRandom

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["LOCALES", "FakeText", "warm_up"]

# Survey language -> Faker locale (the polyglot persona's text follows its chosen language).
LOCALES = {
    "en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL",
    "pt": "pt_PT", "pl": "pl_PL", "sv": "sv_SE", "da": "da_DK", "ja": "ja_JP", "zh": "zh_CN",
}
_fakers: dict[str, Faker] = {}


def _faker(locale: str) -> Faker:
    fake = _fakers.get(locale)
    if fake is None:
        from faker import Faker  # imported lazily: it takes a while and only text answers need it

        fake = _fakers[locale] = Faker(locale)
    return fake


class FakeText:
    __slots__ = ("locale", "rng")  # one per respondent in flight

    def __init__(self, rng: RespondentRandom, language: str | None) -> None:
        self.rng = rng
        self.locale = LOCALES.get(language or "en", "en_US")

    def set_language(self, language: str) -> None:
        self.locale = LOCALES.get(language, self.locale)

    def __call__(self, min_length: int, max_length: int) -> str:
        fake = _faker(self.locale)
        fake.seed_instance(self.rng.getrandbits(32))
        text = fake.sentence(nb_words=self.rng.randint(4, 12))
        while len(text) < min_length:
            text += " " + fake.sentence()
        return text[:max_length]


def warm_up(languages: set[str]) -> None:
    """Import Faker and build each locale's instance before a run starts, so that cost (hundreds
    of milliseconds) never stalls the event loop while requests are being timed."""
    for lang in sorted(languages | {"en"}):
        _faker(LOCALES.get(lang, "en_US"))
