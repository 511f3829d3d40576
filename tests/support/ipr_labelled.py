"""A labelled set for IPR screening: real marks, counterfeit spellings of them, and innocent
look-alikes (a brand word on unrelated goods, ordinary words one letter from a mark).
Shared by the matching tests and ``make bench BENCH=ipr``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from customs_shared.events.schemas import ItemFacts
from ipr_svc.screening.index import ActiveRecord, RecordIndex

AUTHORISED = "0104567890"


def _record(
    record_id: str, brands: tuple[str, ...], headings: str, *authorised: str
) -> ActiveRecord:
    return ActiveRecord(
        record_id,
        f"holder-{record_id}",
        brands,
        frozenset(h.strip() for h in headings.split(",")),
        frozenset(authorised),
    )


RECORDS = (
    _record("nike", ("Nike", "Air Jordan"), "6402, 6403, 6404, 6109"),
    _record("lv", ("Louis Vuitton", "LV"), "4202", AUTHORISED),
    _record("chanel", ("Chanel", "Coco Chanel"), "3303, 4202"),
    _record("apple", ("Apple", "iPhone", "AirPods"), "8517, 8518"),
    _record("samsung", ("Samsung", "Galaxy"), "8517"),
    _record("trung", ("Trung Nguyên", "G7"), "0901, 2101"),
    _record("vinamilk", ("Vinamilk",), "0401, 0402"),
    _record("bitis", ("Biti's", "Bitis Hunter"), "6402, 6404"),
    _record("phuquoc", ("Phú Quốc",), "2103"),
    _record("adidas", ("Adidas", "Three Stripes"), "6404, 6109, 6211"),
    _record("gucci", ("Gucci",), "4202, 6109"),
    _record("rolex", ("Rolex", "Oyster Perpetual"), "9101, 9102"),
    _record("hermes", ("Hermès", "Birkin"), "4202"),
    _record("honda", ("Honda", "Wave Alpha"), "8711"),
    _record("canon", ("Canon", "EOS"), "8525"),
    _record("lego", ("Lego",), "9503"),
)


@dataclass(frozen=True, slots=True)
class Case:
    description: str
    hs_code: str
    brand: str | None
    expected: str | None  # the record it must hit, or None: no hit
    importer: str = "0109999999"

    def item(self, line: int = 1) -> ItemFacts:
        return ItemFacts(
            line=line,
            hs_code=self.hs_code,
            description=self.description,
            origin_country="CN",
            quantity=Decimal(10),
            unit="PCE",
            customs_value=Decimal(100),
            brand=self.brand,
        )


CASES = (
    # counterfeit: exact, other case, diacritics, look-alike digits, misspellings, spacing
    Case("Running shoes, textile upper", "64041100", "Nike", "nike"),
    Case("Running shoes NIKE air", "64041100", None, "nike"),
    Case("Sports shoes", "64041100", "N1KE", "nike"),
    Case("Basketball shoes air-jordan retro", "64041100", None, "nike"),
    Case("Basketball shoes", "64041100", "Air Jord4n", "nike"),
    Case("Basketball shoes", "64041100", "Air Jordon", "nike"),
    Case("Handbag, leather", "42022100", "L0UIS VUITT0N", "lv"),
    Case("Handbag louis-vuiton monogram", "42022100", None, "lv"),
    Case("Handbag", "42022100", "Luois Vuitton", "lv"),
    Case("Perfume 100 ml", "33030000", "CHANEL", "chanel"),
    Case("Perfume 50 ml", "33030000", "Chanell", "chanel"),
    Case("Perfume coco-chanel no 5", "33030000", None, "chanel"),
    Case("Mobile phones", "85171300", "1PHONE", "apple"),
    Case("Smartphone Samsumg galaxy S24", "85171300", None, "samsung"),
    Case("Smartphone", "85171300", "SAMSUNG", "samsung"),
    Case("Earphones air pods pro", "85183000", None, "apple"),
    Case("Roasted coffee", "09012100", "TRUNG NGUYEN", "trung"),
    Case("Instant coffee trung nguyên legend", "21011100", None, "trung"),
    Case("Coffee", "09012100", "Trung Nguyen", "trung"),
    Case("Milk powder", "04022100", "Vinamilc", "vinamilk"),
    Case("Milk powder VINAMILK", "04022100", None, "vinamilk"),
    Case("Sandals", "64041900", "Bitis", "bitis"),
    Case("Sandals biti's hunter street", "64041900", None, "bitis"),
    Case("Fish sauce nuoc mam Phu Quoc", "21039000", None, "phuquoc"),
    Case("Fish sauce", "21039000", "PHÚ QUỐC", "phuquoc"),
    Case("T-shirts", "61091000", "Addidas", "adidas"),
    Case("T-shirts", "61091000", "ADIDAS", "adidas"),
    Case("Belts and bags", "42023100", "Guccí", "gucci"),
    Case("Wrist watches", "91021100", "R0LEX", "rolex"),
    Case("Wrist watches oyster perpetual date", "91021100", None, "rolex"),
    Case("Handbags", "42022100", "Hermes", "hermes"),
    Case("Handbags Birkln 30", "42022100", None, "hermes"),
    Case("Motorcycles 110cc", "87112010", "HONDA", "honda"),
    Case("Motorcycles wave-alpha 110", "87112010", None, "honda"),
    Case("Digital cameras", "85258900", "Canon", "canon"),
    Case("Toy bricks", "95030000", "LEG0", "lego"),
    # innocent: brand words on unrelated goods, ordinary words near a mark, authorised importer
    Case("Fresh apples, red delicious", "08081000", "Apple", None),
    Case("Apple juice concentrate", "20097100", None, None),
    Case("Nice shoes for children", "64041100", None, None),
    Case("Cotton shirts", "61091000", "Acme", None),
    Case("Perfume 100 ml", "33030000", "Channel Fragrances", None),  # one letter, other word
    Case("Milk powder", "04022100", "Dutch Lady", None),
    Case("Handbag, leather", "42022100", "Louis Vuitton", None, AUTHORISED),
    Case("Galaxy projector lamp", "94054000", None, None),
    Case("Honda engine parts", "84099100", None, None),
    Case("Canon-shaped garden ornament", "69139000", None, None),
    Case("Motorcycle helmet", "65061000", "Hondo", None),
    Case("Lego-style wooden blocks", "44219999", None, None),
    Case("Coffee beans, robusta", "09011100", "Highlands", None),
    Case("Wave-shaped hair clips", "96151100", None, None),
    Case("Leather handbags", "42022100", "Charles & Keith", None),
    Case("Sports shoes", "64041100", "Nice", None),
    Case("Watches", "91021100", "Casio", None),
    Case("Fish sauce", "21039000", "Nam Ngư", None),
    Case("T-shirts", "61091000", "Uniqlo", None),
)


@dataclass(frozen=True, slots=True)
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int
    misses: tuple[Case, ...]
    false_alarms: tuple[tuple[Case, str], ...]

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def evaluate(index: RecordIndex) -> Scores:
    """Precision and recall of ``index`` on CASES, counted per (case, record)."""
    tp = fp = fn = 0
    misses: list[Case] = []
    alarms: list[tuple[Case, str]] = []
    for case in CASES:
        found = {
            m.record.record_id
            for m in index.match([case.item()], office="01B1", importer=case.importer)
        }
        if case.expected is not None:
            if case.expected in found:
                tp += 1
            else:
                fn += 1
                misses.append(case)
        for record_id in found - {case.expected}:
            fp += 1
            alarms.append((case, record_id))
    return Scores(tp, fp, fn, tuple(misses), tuple(alarms))
