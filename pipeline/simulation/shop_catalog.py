"""The simulator's shop: catalogue, funnel, devices, Web Vitals models and visitors.

Constants and small value types that :mod:`pipeline.simulation.shop_sessions` walks through
(and that ``bench/warehouse.py`` samples from in bulk); the visitors who come back live in
:class:`VisitorPool`. No I/O, no clock: randomness only from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SDK = {"name": "vigil-browser", "version": "0.1.0"}
SITE = "https://shop.example.com"
CDN = "https://cdn.example.com"
ENVIRONMENT = "production"

# the SDK's queue (sdk-js): flush at this many events, or this long after the first queued one
MAX_BATCH_EVENTS = 20
FLUSH_AFTER_MS = 5000.0

RELEASES: tuple[str, ...] = ("shop@2.4.1", "shop@2.5.0")
RELEASE_WEIGHTS: tuple[float, ...] = (0.55, 0.45)
# 2.5.0 reads price.discount.amount for every product; products without a discount crash it
BUGGY_RELEASE = "shop@2.5.0"
BUG_CHANCE_DURING_INCIDENT = 0.6
BUG_CHANCE_OTHERWISE = 0.01
BUG_MESSAGE = "Cannot read properties of undefined (reading 'amount')"

MAX_PAGES_PER_SESSION = 20
EXIT = "exit"

# ── the shop ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    category: str
    price: float
    discounted: bool

    @property
    def slug(self) -> str:
        return self.name.lower().replace(" ", "-")


CATEGORIES: dict[str, str] = {
    "kitchen": "Kitchen", "garden": "Garden", "lighting": "Lighting", "bath": "Bath", "outdoor": "Outdoor",
}
_PRODUCT_NAMES: dict[str, tuple[str, ...]] = {
    "kitchen": ("Blue Kettle", "Cast Iron Pan", "Chef Knife", "Espresso Cup Set", "Oak Cutting Board"),
    "garden": ("Pruning Shears", "Watering Can", "Raised Bed Kit", "Herb Planter", "Garden Gloves"),
    "lighting": ("Brass Desk Lamp", "Paper Pendant", "Reading Light", "LED Strip", "Table Lantern"),
    "bath": ("Linen Towel", "Bamboo Bath Mat", "Soap Dish", "Shower Caddy", "Cotton Robe"),
    "outdoor": ("Camping Chair", "Picnic Blanket", "Cooler Bag", "Hammock", "Fire Bowl"),
}
PRODUCTS: tuple[Product, ...] = tuple(
    Product(
        id=10 * index + offset + 1,
        name=name,
        category=category,
        price=round(9.9 + ((index * 37 + offset * 53) % 180), 2),
        discounted=(index + offset) % 2 == 0,
    )
    for index, (category, names) in enumerate(_PRODUCT_NAMES.items())
    for offset, name in enumerate(names)
)
SEARCH_TERMS = ("kettle", "lamp", "towel", "chair", "planter", "gift", "knife", "blanket")

# funnel: where a visitor goes from each step (weights), EXIT = leaves the site
ENTRY_STEP: tuple[tuple[str, float], ...] = (("home", 0.5), ("category", 0.2), ("product", 0.22), ("search", 0.08))
NEXT_STEP: dict[str, tuple[tuple[str, float], ...]] = {
    "home": (("category", 0.55), ("search", 0.12), ("product", 0.08), (EXIT, 0.25)),
    "search": (("product", 0.55), ("search", 0.1), (EXIT, 0.35)),
    "category": (("product", 0.58), ("category", 0.1), (EXIT, 0.32)),
    "product": (("cart", 0.28), ("product", 0.25), ("category", 0.1), (EXIT, 0.37)),
    "cart": (("checkout", 0.55), ("product", 0.1), (EXIT, 0.35)),
    "checkout": (("confirmation", 1.0),),  # unless the visitor gives up or the payment fails
    "confirmation": (("home", 0.05), (EXIT, 0.95)),
}
CHECKOUT_ABANDON = 0.25
PAYMENT_FAILURE = 0.04
FUNNEL: tuple[str, ...] = ("home", "category", "product", "cart", "checkout", "confirmation")

# median time on page (ms) per step; log-normal with sigma 0.8
DWELL_MEDIAN_MS = {
    "home": 15_000, "search": 14_000, "category": 20_000, "product": 35_000,
    "cart": 18_000, "checkout": 60_000, "confirmation": 9_000,
}
# page weight: how much heavier than average this page's largest paint is
PAGE_WEIGHT = {
    "home": 1.05, "search": 0.95, "category": 1.0, "product": 1.1, "cart": 0.85, "checkout": 0.9, "confirmation": 0.8,
}
# the element that is the LCP on each kind of page
LCP_ELEMENT = {
    "home": "main > section.hero > img", "search": "main ul.results > li:nth-child(1) img",
    "category": "main ul.grid > li:nth-child(1) img", "product": "main div.gallery > img.active",
    "cart": "main h1", "checkout": "main form#checkout > h2", "confirmation": "main h1",
}


@dataclass(frozen=True, slots=True)
class Page:
    step: str
    path: str
    title: str
    query: str = ""
    product: Product | None = None

    @property
    def url(self) -> str:
        return f"{SITE}{self.path}{'?' + self.query if self.query else ''}"


# ── devices ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Device:
    kind: str  # desktop | mobile | tablet: what the Web Vitals distributions depend on
    user_agent: str
    viewport: tuple[int, int]


DEVICES: tuple[tuple[Device, float], ...] = (
    (Device("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/138.0.0.0 Safari/537.36", (1536, 730)), 0.17),
    (Device("desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/138.0.0.0 Safari/537.36", (1440, 789)), 0.07),
    (Device("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", (1920, 945)), 0.05),
    (Device("desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                       "Version/18.5 Safari/605.1.15", (1512, 862)), 0.05),
    (Device("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:141.0) Gecko/20100101 Firefox/141.0",
            (1366, 657)), 0.03),
    (Device("desktop", "Mozilla/5.0 (X11; Linux x86_64; rv:141.0) Gecko/20100101 Firefox/141.0", (1920, 975)), 0.01),
    (Device("desktop", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/138.0.0.0 Safari/537.36", (1920, 960)), 0.01),
    (Device("mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                      "Version/18.5 Mobile/15E148 Safari/604.1", (393, 659)), 0.22),
    (Device("mobile", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/138.0.0.0 Mobile Safari/537.36", (412, 783)), 0.22),
    (Device("mobile", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", (384, 718)), 0.05),
    (Device("mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                      "CriOS/138.0.7204.119 Mobile/15E148 Safari/604.1", (390, 664)), 0.04),
    (Device("mobile", "Mozilla/5.0 (Android 14; Mobile; rv:141.0) Gecko/141.0 Firefox/141.0", (412, 775)), 0.01),
    (Device("tablet", "Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                      "Version/18.5 Mobile/15E148 Safari/604.1", (820, 1106)), 0.04),
    (Device("tablet", "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/138.0.0.0 Safari/537.36", (800, 1192)), 0.03),
)

# log-normal (median, sigma) per device class. LCP: p75 = median·e^(0.6745·σ) → 1.8 s / 2.5 s
LCP_MODEL = {"desktop": (1285.0, 0.5), "tablet": (1530.0, 0.5), "mobile": (1785.0, 0.5)}
INP_MODEL = {"desktop": (70.0, 0.6), "tablet": (110.0, 0.6), "mobile": (140.0, 0.65)}
# CLS: share of pages without any shift, then a log-normal tail
CLS_MODEL = {"desktop": (0.55, 0.05, 0.9), "tablet": (0.5, 0.06, 0.9), "mobile": (0.45, 0.07, 0.95)}
NETWORK_MS = {"desktop": 1.0, "tablet": 1.4, "mobile": 2.0}  # latency multiplier of the connection


@dataclass(frozen=True, slots=True)
class Visitor:
    visitor_id: str
    device: Device
    user_id: str | None = None
    sessions: int = 0


def new_visitor(rng: random.Random) -> Visitor:
    devices, weights = zip(*DEVICES)
    return Visitor(visitor_id=hex_id(rng), device=rng.choices(devices, weights)[0])


class VisitorPool:
    """Visitors who come back: ``returning_share`` of sessions reuse a known visitor id."""

    def __init__(self, rng: random.Random, returning_share: float = 0.35, capacity: int = 20_000) -> None:
        self._rng = rng
        self.returning_share = returning_share
        self.capacity = capacity
        self._known: list[Visitor] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._known)

    def next_visitor(self) -> Visitor:
        if self._known and self._rng.random() < self.returning_share:
            return self._rng.choice(self._known)
        return new_visitor(self._rng)

    def remember(self, visitor: Visitor) -> None:
        """Keep the visitor as they left (their user id, if they signed in) for their next visit."""
        at = self._index.get(visitor.visitor_id)
        if at is not None:
            self._known[at] = visitor
        elif len(self._known) < self.capacity:
            self._index[visitor.visitor_id] = len(self._known)
            self._known.append(visitor)
        else:  # full: a random old visitor never comes back
            at = self._rng.randrange(len(self._known))
            del self._index[self._known[at].visitor_id]
            self._known[at] = visitor
            self._index[visitor.visitor_id] = at


# ── small helpers ────────────────────────────────────────────────────────────────────────


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


def hex_id(rng: random.Random) -> str:
    """A 32-character hex id, like the SDK's ``uid()``."""
    return f"{rng.getrandbits(128):032x}"
