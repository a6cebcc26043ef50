"""The card-number scrubber over generated corpora: ids in URLs are never touched, every
Luhn-valid card number that stands alone is replaced, however it is written."""

from __future__ import annotations

import random
import uuid

import pytest

from pipeline.stream import pii

SEED = 20261206
IDS, CARDS = 3000, 3000

ID_PLACES = (
    "/orders/{id}", "/orders/{id}/items/{other}", "https://shop.example/api/v1/carts/{id}?expand=lines",
    "/p?id={id}&ref={other}", "https://x.example/checkout#/{id}", "order {id} failed (trace {other})",
    "/download/{id}.pdf", "/u/{id}-{other}",
)
CARD_PLACES = (
    "Card {card} declined", "charge {card}: insufficient funds", "{card}",
    "https://shop.example/pay?card={card}&cvc=123", "/checkout?number={card}",
    "number={card}&exp=12%2F29", "name=Ann&card_number={card}&save=1", "payment failed for '{card}'",
)


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body`` + it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled: the check digit will sit to their right
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def random_card(rng: random.Random) -> str:
    length = rng.randint(13, 19)
    body = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 2))
    return body + luhn_check_digit(body)


def written(card: str, rng: random.Random, in_url: bool) -> str:
    """The card as people and browsers write it: plain, in groups of four with spaces or dashes,
    and in a URL or form value a space becomes ``+`` or ``%20``."""
    separators = ["", " ", "-"] + (["+", "%20"] if in_url else [])
    separator = rng.choice(separators)
    return separator.join(card[i:i + 4] for i in range(0, len(card), 4))


def random_id(rng: random.Random) -> str:
    """A UUID (any case) or a hex id of 16–64 characters with at least one letter (all digits is a number)."""
    if rng.random() < 0.5:
        text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return text.upper() if rng.random() < 0.2 else text
    while True:
        text = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(16, 64)))
        if any(c.isalpha() for c in text):
            return text.upper() if rng.random() < 0.2 else text


def id_corpus() -> list[str]:
    rng = random.Random(SEED)
    return [rng.choice(ID_PLACES).format(id=random_id(rng), other=random_id(rng)) for _ in range(IDS)]


def card_corpus() -> list[tuple[str, str]]:
    """(text with a card, the text as scrubbed)."""
    rng = random.Random(SEED + 1)
    corpus = []
    for _ in range(CARDS):
        place = rng.choice(CARD_PLACES)
        card = written(random_card(rng), rng, in_url="=" in place)
        corpus.append((place.format(card=card), place.format(card=pii.CARD)))
    return corpus


def test_the_generator_makes_valid_cards():
    assert luhn_check_digit("411111111111111") == "1" and pii._luhn("4111111111111111")


def test_no_uuid_or_hex_id_is_ever_changed():
    changed = [text for text in id_corpus() if pii.scrub(text) != text]
    assert changed == []


def test_every_card_number_is_scrubbed():
    missed = [(text, pii.scrub(text)) for text, scrubbed in card_corpus() if pii.scrub(text) != scrubbed]
    assert missed == []


@pytest.mark.parametrize("text", [
    "/orders/f0979095-2164-41d6-8db3-adc23fe98801",  # the id from the report
    "/orders/a4111111111111111", "/orders/4111111111111111b", "ref-4111-1111-1111-1111",
])
def test_digits_inside_an_id_are_not_a_card(text):
    assert pii.scrub(text) == text


@pytest.mark.parametrize("text, scrubbed", [
    ("card:4111111111111111.", "card:[card]."),
    ("(4111 1111 1111 1111)", "([card])"),
    ("q=pay%204111%201111%201111%201111%20now", "q=pay%20[card]%20now"),
    ("card_4111111111111111", "card_[card]"),  # an underscore is no letter or digit
])
def test_a_card_between_punctuation_is_scrubbed(text, scrubbed):
    assert pii.scrub(text) == scrubbed
