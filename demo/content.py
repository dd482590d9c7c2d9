"""What the demo share holds: an invented council's documents, as plain data.

Every person, address, company and reference number here is invented. Telephone numbers come
from Ofcom's range reserved for drama, residents' e-mail domains are the reserved example.*
names, and postcodes use the non-existent "NB" area. Text bound for PDFs stays within latin-1.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone

COUNCIL_NAME = "Northbridge Borough Council"
COUNCIL_DOMAIN = "northbridge.gov.uk"

_GMT = timezone(timedelta(0), "GMT")
_BST = timezone(timedelta(hours=1), "BST")


@dataclass(frozen=True)
class Docx:
    paragraphs: tuple[str, ...]
    author: str = COUNCIL_NAME


@dataclass(frozen=True)
class Pdf:
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Xlsx:
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class Eml:
    sender: str
    to: tuple[str, ...]
    body: str
    date: datetime
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Txt:
    text: str


Body = Docx | Pdf | Xlsx | Eml | Txt


@dataclass(frozen=True)
class Entry:
    """One planned file: POSIX path under the share root, title (e-mail subject), phrases."""

    relative_path: str
    title: str
    body: Body
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    first: str
    last: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def officer_mailbox(self) -> str:
        return f"{self.name} <{self.first.lower()}.{self.last.lower()}@{COUNCIL_DOMAIN}>"

    def resident_mailbox(self, domain: str) -> str:
        return f"{self.name} <{self.first[0].lower()}.{self.last.lower()}@{domain}>"


_FIRST_NAMES = (
    "Aisha", "Ben", "Catherine", "Declan", "Eleanor", "Farhan", "Gemma", "Harjit", "Imogen",
    "Jonah", "Kerry", "Liam", "Morag", "Niall", "Olu", "Priya", "Rhys", "Sian", "Tomasz",
    "Una", "Wes", "Yasmin", "Zoe", "Gareth", "Helen", "Marcus", "Bethan", "Kwame",
)  # fmt: skip
_SURNAMES = (
    "Ashworth", "Bramley", "Castell", "Dunmore", "Ellery", "Fenwick", "Garside", "Hollins",
    "Ibbotson", "Jowett", "Kershaw", "Lomax", "Mottram", "Nuttall", "Ormerod", "Pickles",
    "Quayle", "Rishworth", "Sutcliffe", "Thewlis", "Uttley", "Varley", "Whitworth", "Yeadon",
    "Ackroyd", "Brearley", "Crowther", "Dewhirst", "Eastwood", "Foulds", "Gledhill", "Haigh",
)  # fmt: skip


@dataclass(frozen=True)
class Cast:
    """The invented people a seed assigns to each role; no two share a surname."""

    planning_officer: Person
    head_of_planning: Person
    applicant: Person
    objector: Person
    highways_officer: Person
    enforcement_officer: Person
    tenant: Person
    housing_officer: Person
    complaints_manager: Person
    boiler_tenant: Person
    revenues_manager: Person
    hr_manager: Person
    committee_chair: Person
    council_leader: Person
    ward_councillor: Person
    democratic_officer: Person
    eh_officer: Person
    dog_complainant: Person
    pub_complainant: Person
    licensing_officer: Person
    cafe_owner: Person
    foi_officer: Person
    toilets_requester: Person
    housing_requester: Person
    finance_director: Person

    @classmethod
    def draw(cls, rng: random.Random) -> Cast:
        roles = [field.name for field in fields(cls)]
        surnames = rng.sample(_SURNAMES, len(roles))
        people = [Person(rng.choice(_FIRST_NAMES), surname) for surname in surnames]
        return cls(**dict(zip(roles, people, strict=True)))


def catalogue(seed: int) -> list[Entry]:
    """Every planned file, in a fixed order; the seed only varies people and figures."""
    rng = random.Random(seed)
    cast = Cast.draw(rng)
    return [
        *_planning(cast, rng),
        *_housing(cast, rng),
        *_finance(cast, rng),
        *_human_resources(cast),
        *_democratic_services(cast),
        *_environmental_health(cast, rng),
        *_freedom_of_information(cast, rng),
    ]


def working_day(start: date, days: int) -> date:
    """The date days working days after start, skipping weekends only."""
    current = start
    while days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def uk_time(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in the UK, with the 2024 GMT/BST offset applied."""
    in_summer_time = date(2024, 3, 31) <= date(year, month, day) < date(2024, 10, 27)
    return datetime(year, month, day, hour, minute, tzinfo=_BST if in_summer_time else _GMT)
