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


def _working_day(start: date, days: int) -> date:
    """The date days working days after start, skipping weekends only."""
    current = start
    while days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _uk_time(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in the UK, with the 2024 GMT/BST offset applied."""
    in_summer_time = date(2024, 3, 31) <= date(year, month, day) < date(2024, 10, 27)
    return datetime(year, month, day, hour, minute, tzinfo=_BST if in_summer_time else _GMT)


def _text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


_PLANNING_FUL = "Planning/Applications/24-01234-FUL"
_PLANNING_LBC = "Planning/Applications/24-00987-LBC"
_PLANNING_OUT = "Planning/Applications/23-02311-OUT"
_PRE_APP = "Planning/Pre-application advice/PRE-24-0112 Riverside Wharf"
_ENFORCEMENT = "Planning/Enforcement/ENF-24-0045 Land rear of 3 Orchard Close"


def _planning(cast: Cast, rng: random.Random) -> list[Entry]:
    head = f"{cast.head_of_planning.name}, Head of Planning and Building Control"
    highways = cast.highways_officer
    sites = (
        ("CFS24/001", "Land east of Brookfield Farm", "Ashby", "Housing"),
        ("CFS24/002", "Former Ashby Road depot", "Northbridge", "Mixed use"),
        ("CFS24/003", "Paddock behind The Fox and Hounds", "Lowfold", "Housing"),
        ("CFS24/004", "Northbridge Canal basin", "Northbridge", "Employment"),
        ("CFS24/005", "Land at Windy Ridge", "Highmoor", "Renewable energy"),
        ("CFS24/006", "Glebe field, Church Lane", "Lowfold", "Housing"),
    )
    site_rows: list[tuple[object, ...]] = []
    for reference, name, parish, use in sites:
        hectares = rng.randint(8, 240) / 10
        capacity: object = round(hectares * 30) if use == "Housing" else "n/a"
        site_rows.append((reference, name, parish, hectares, use, capacity))
    return [
        Entry(
            f"{_PLANNING_FUL}/Application form and design statement.docx",
            "Design and access statement - 14 Mill Lane",
            Docx(
                (
                    "## Site and surroundings",
                    "14 Mill Lane is a 1930s semi-detached house finished in red multi stock "
                    "brick under a hipped clay tile roof. The rear garden backs onto the "
                    "Northbridge Canal towpath.",
                    "## Proposal",
                    "The application seeks permission for a two-storey rear extension and the "
                    "replacement of the existing lean-to conservatory. The extension projects "
                    "3.5 metres and is set 1 metre in from the boundary with 16 Mill Lane.",
                    "## Design and materials",
                    "Walls will be in matching brick with grey aluminium windows, under a hipped "
                    "roof set down 0.5 metres from the main ridge so that the extension reads as "
                    "subservient to the house.",
                    "## Parking and access",
                    "The two parking spaces on the existing driveway are kept. No change to the "
                    "access onto Mill Lane is proposed.",
                    f"Applicant: {cast.applicant.name}. Application 24/01234/FUL, validated "
                    "12 February 2024.",
                ),
                author=cast.applicant.name,
            ),
            (
                "replacement of the existing lean-to conservatory",
                "roof set down 0.5 metres from the main ridge",
            ),
        ),
        Entry(
            f"{_PLANNING_FUL}/Neighbour objection - 16 Mill Lane.txt",
            "Objection to 24/01234/FUL from 16 Mill Lane",
            Txt(
                _text(
                    "16 Mill Lane",
                    "Northbridge",
                    "NB2 7HL",
                    "",
                    "1 March 2024",
                    "",
                    "Dear Sir or Madam",
                    "",
                    "Planning application 24/01234/FUL - 14 Mill Lane",
                    "",
                    "I wish to object to the above application on behalf of my household.",
                    "",
                    "The extension would cause a loss of morning sunlight to our kitchen and "
                    "rear patio, which face east towards number 14.",
                    "",
                    "At two storeys and 3.5 metres deep it would have an overbearing impact on "
                    "the shared boundary and feel like a wall along our garden.",
                    "",
                    "The first-floor side window would look straight into our bathroom. If the "
                    "council is minded to approve, please require it to be obscure glazed.",
                    "",
                    "Yours faithfully",
                    "",
                    cast.objector.name,
                )
            ),
            (
                "loss of morning sunlight to our kitchen",
                "overbearing impact on the shared boundary",
            ),
        ),
        Entry(
            f"{_PLANNING_FUL}/Highways consultation response.eml",
            "24/01234/FUL 14 Mill Lane - highways consultation response",
            Eml(
                sender=f"{highways.name} <{highways.first.lower()}.{highways.last.lower()}"
                "@northshire.gov.uk>",
                to=(cast.planning_officer.officer_mailbox,),
                body=_text(
                    f"Dear {cast.planning_officer.first},",
                    "",
                    "Re: 24/01234/FUL, two-storey rear extension, 14 Mill Lane, Northbridge",
                    "",
                    "Thank you for consulting the Local Highway Authority on this application.",
                    "",
                    "The proposal adds a fourth bedroom. Two parking spaces remain on the "
                    "driveway, which meets the Northshire parking standard for a four-bedroom "
                    "house.",
                    "",
                    "The Highway Authority raises no objection subject to a condition that the "
                    "driveway is kept available for the parking of two cars at all times.",
                    "",
                    "Existing visibility splays of 2.4 metres by 43 metres at the access are "
                    "unaffected.",
                    "",
                    "Kind regards",
                    "",
                    highways.name,
                    "Development Management Engineer",
                    "Northshire County Council Highways",
                ),
                date=_uk_time(2024, 2, 26, 14, 5),
            ),
            (
                "raises no objection subject to a condition",
                "visibility splays of 2.4 metres by 43 metres",
            ),
        ),
        Entry(
            f"{_PLANNING_FUL}/Decision notice.pdf",
            "Decision notice 24/01234/FUL - 14 Mill Lane",
            Pdf(
                (
                    "Town and Country Planning Act 1990",
                    "Application reference: 24/01234/FUL",
                    f"Applicant: {cast.applicant.name}",
                    "Site: 14 Mill Lane, Northbridge, NB2 7HL",
                    "Proposal: Two-storey rear extension and replacement of rear conservatory",
                    "Northbridge Borough Council hereby GRANTS PLANNING PERMISSION for the "
                    "development described above, subject to the following conditions.",
                    "## Conditions",
                    "1. The development must be begun within three years of the date of this "
                    "notice.",
                    "2. The development shall be carried out in accordance with drawings MLN-01 "
                    "rev B and MLN-02 rev C.",
                    "3. Obscure glazing to level 3 and fixed shut: the first floor side window "
                    "facing 16 Mill Lane.",
                    "4. The driveway shall be kept available for the parking of two cars.",
                    "## Reasons",
                    "1. To comply with section 91 of the Town and Country Planning Act 1990.",
                    "2. For the avoidance of doubt and in the interests of proper planning.",
                    "3. To protect the privacy of 16 Mill Lane (Local Plan policy DM4).",
                    "4. In the interests of highway safety (Local Plan policy T2).",
                    "Date of decision: 24 April 2024",
                    head,
                )
            ),
            ("must be begun within three years", "Obscure glazing to level 3 and fixed shut"),
        ),
        Entry(
            f"{_PLANNING_LBC}/Heritage statement.docx",
            "Heritage statement - The Old Corn Exchange",
            Docx(
                (
                    "## The Old Corn Exchange, Market Square",
                    "The Old Corn Exchange is a Grade II listed building of coursed sandstone "
                    "under a slate roof. Its interest lies in the open trading hall and the cast "
                    "iron roof trusses dating from 1862, which survive largely intact.",
                    "## Proposed works",
                    "Listed building consent is sought for lime mortar repointing of the north "
                    "elevation, removal of cement render from the plinth, and a platform lift in "
                    "the former cloakroom.",
                    "## Assessment of significance",
                    "The works would cause less than substantial harm to the significance of the "
                    "heritage asset, outweighed by the public benefit of bringing the hall back "
                    "into community use with level access.",
                    "## Method",
                    "- Rake out cement pointing by hand to a depth of 20 millimetres.",
                    "- Repoint in NHL 3.5 natural hydraulic lime, with sand matched to the "
                    "original mortar.",
                    "- Record all works photographically for the Historic Environment Record.",
                ),
                author="Wharfedale Heritage Partnership",
            ),
            (
                "iron roof trusses dating from 1862",
                "lime mortar repointing of the north elevation",
            ),
        ),
        Entry(
            f"{_PLANNING_LBC}/Decision notice.pdf",
            "Decision notice 24/00987/LBC - The Old Corn Exchange",
            Pdf(
                (
                    "Planning (Listed Buildings and Conservation Areas) Act 1990",
                    "Application reference: 24/00987/LBC",
                    "Site: The Old Corn Exchange, Market Square, Northbridge, NB1 1AA",
                    "Proposal: Repointing, plinth repairs and installation of a platform lift",
                    "Northbridge Borough Council hereby GRANTS LISTED BUILDING CONSENT for the "
                    "works described above, subject to the following conditions.",
                    "1. The works shall begin no later than three years from today.",
                    "2. A one metre square sample panel of repointing shall be approved before "
                    "work starts.",
                    "3. No cement based mortar shall be used anywhere on the building.",
                    "Reason: to preserve the special architectural and historic interest of the "
                    "listed building.",
                    "Date of decision: 8 April 2024",
                    head,
                )
            ),
            ("one metre square sample panel", "No cement based mortar shall be used"),
        ),
        Entry(
            f"{_PLANNING_OUT}/Committee report.docx",
            "Planning Committee report - Land north of Station Road",
            Docx(
                (
                    "## Application 23/02311/OUT - Land north of Station Road, Northbridge",
                    "Outline application for up to 45 dwellings, all matters reserved except "
                    "access.",
                    f"Case officer: {cast.planning_officer.name}. Recommendation: grant subject "
                    "to a section 106 agreement.",
                    "## Key issues",
                    "- Principle: the site is allocated for housing under Local Plan policy H7.",
                    "- Affordable housing: the applicant offers 30 per cent affordable housing on "
                    "site, split 70:30 between social rent and shared ownership.",
                    "- Highways: a new priority junction onto Station Road with a pedestrian "
                    "refuge island.",
                    "- Ecology: the scheme must deliver a biodiversity net gain of at least ten "
                    "per cent, secured for 30 years.",
                    "## Consultation responses",
                    "Fourteen letters of objection were received, mainly about traffic on "
                    "Station Road and places at Northbridge Primary School.",
                    "## Recommendation",
                    "That the Head of Planning be authorised to grant outline planning "
                    "permission subject to conditions and a section 106 agreement.",
                ),
                author=cast.planning_officer.name,
            ),
            (
                "30 per cent affordable housing on site",
                "biodiversity net gain of at least ten per cent",
            ),
        ),
        Entry(
            f"{_PLANNING_OUT}/Section 106 heads of terms.docx",
            "Section 106 heads of terms - 23/02311/OUT",
            Docx(
                (
                    "Draft heads of terms for the section 106 agreement for land north of "
                    "Station Road (23/02311/OUT).",
                    "- Affordable housing: 14 dwellings, transferred to a registered provider "
                    "before the 20th market dwelling is occupied.",
                    "- Education: an education contribution of £4,150 per eligible dwelling "
                    "towards Northbridge Primary School.",
                    "- Open space: a locally equipped area for play, with a commuted sum for 15 "
                    "years of maintenance.",
                    "- Monitoring: a fee of £450 per obligation.",
                    "Contributions are index linked from the date of the resolution to grant.",
                )
            ),
            ("education contribution of £4,150 per eligible dwelling", "locally equipped area"),
        ),
        Entry(
            f"{_PRE_APP}/Pre-application advice letter.pdf",
            "Pre-application advice - Riverside Wharf, Canal Street",
            Pdf(
                (
                    "Our reference: PRE/24/0112. Date: 4 April 2024.",
                    "Site: Riverside Wharf warehouse, Canal Street, Northbridge, NB1 3JD",
                    "Proposal: conversion to 18 flats with commercial use at ground floor",
                    "Thank you for meeting us on 14 March 2024. This letter gives the informal "
                    "view of officers and does not bind the council.",
                    "## Principle",
                    "Residential conversion is acceptable in principle.",
                    "Keep an active frontage to the canal by reserving the ground floor for "
                    "commercial use.",
                    "## Flood risk",
                    "The site lies in Flood Zone 3a. Any application must pass the flood risk "
                    "sequential test and include a site-specific flood risk assessment.",
                    "## Heritage",
                    "The warehouse is a non-designated heritage asset. The loading doors and "
                    "hoist housing should be kept.",
                    f"{cast.planning_officer.name}, Principal Planning Officer",
                )
            ),
            ("active frontage to the canal", "loading doors and hoist housing"),
        ),
        Entry(
            f"{_PRE_APP}/Meeting notes 2024-03-14.txt",
            "Pre-application meeting notes - Riverside Wharf",
            Txt(
                _text(
                    "Pre-application meeting - Riverside Wharf, Canal Street (PRE/24/0112)",
                    "14 March 2024, Committee Room 2, Town Hall",
                    "",
                    f"Present: {cast.planning_officer.name} (Planning), the conservation "
                    "officer, the applicant's architect and agent.",
                    "",
                    "- Agent outlined 18 flats over four floors, ground floor cafe and studios.",
                    "- Flood zone 3a: finished floor levels likely to be needed above 24.6m AOD.",
                    "- Ecology: a heron nesting site on the opposite bank means no piling "
                    "between February and August.",
                    "- Parking: car free is acceptable in the town centre, but 18 secure cycle "
                    "spaces are needed.",
                    "- Next step: written advice within 21 days.",
                )
            ),
            ("heron nesting site on the opposite bank", "18 secure cycle spaces"),
        ),
        Entry(
            f"{_ENFORCEMENT}/Site visit notes.txt",
            "Site visit notes ENF/24/0045",
            Txt(
                _text(
                    "Enforcement case ENF/24/0045",
                    "Site: land to the rear of 3 Orchard Close, Northbridge NB3 2PW",
                    "Visit: 19 March 2024, 10:30",
                    f"Officer: {cast.enforcement_officer.name}",
                    "",
                    "Complaint: fence put up along the public footpath without permission.",
                    "",
                    "Observed a close boarded fence approximately 2.4 metres high running for "
                    "about 18 metres beside the footpath. Permitted development allows 2 metres.",
                    "",
                    "The owner said the fence was to stop anti-social behaviour on the footpath. "
                    "Explained the options: reduce the height, or apply for retrospective "
                    "planning permission.",
                    "",
                    "Next step: serve a planning contravention notice; revisit 30 April 2024.",
                )
            ),
            (
                "close boarded fence approximately 2.4 metres high",
                "apply for retrospective planning permission",
            ),
        ),
        Entry(
            f"{_ENFORCEMENT}/Planning contravention notice.docx",
            "Planning contravention notice ENF/24/0045",
            Docx(
                (
                    "Town and Country Planning Act 1990, section 171C",
                    "To: the owner and occupier of 3 Orchard Close, Northbridge NB3 2PW",
                    "It appears to the council that there may have been a breach of planning "
                    "control on the land, namely the erection of a fence over 2 metres high.",
                    "You are required to answer the questions in the schedule to this notice "
                    "within 21 days.",
                    "## Schedule",
                    "1. On what date was the fence erected?",
                    "2. Who erected the fence, and on whose instructions?",
                    "3. Would you reduce the height of the fence to 2 metres?",
                    "It is an offence to fail to reply to this notice without reasonable excuse, "
                    "or to make a false or misleading statement in reply.",
                    f"Signed: {head}. Date: 22 March 2024.",
                )
            ),
            (
                "answer the questions in the schedule to this notice",
                "fail to reply to this notice without reasonable excuse",
            ),
        ),
        Entry(
            "Planning/Local Plan/Call for sites 2024 responses.xlsx",
            "Local Plan call for sites 2024 - responses",
            Xlsx(
                ("Site ref", "Site name", "Parish", "Area (ha)", "Proposed use", "Capacity"),
                tuple(site_rows),
            ),
            ("Land east of Brookfield Farm", "Paddock behind The Fox and Hounds"),
        ),
    ]


_DAMP_CASE = "Housing/Repairs/Complaints/2024/HC-2024-0217 Flat 3 Kestrel House"
_HEATING_CASE = "Housing/Repairs/Complaints/2024/HC-2024-0231 12 Heron Way"


def _housing(cast: Cast, rng: random.Random) -> list[Entry]:
    tenant, manager = cast.tenant, cast.complaints_manager
    head_of_housing = f"{cast.housing_officer.name}, Head of Housing Services"
    repair_rows: list[tuple[object, ...]] = []
    for category in (
        "Emergency (24 hour)",
        "Urgent (3 working days)",
        "Routine (20 working days)",
        "Damp and mould inspections",
        "Gas servicing (annual safety check)",
        "Void property works",
    ):
        raised = rng.randint(40, 900)
        in_target = raised - rng.randint(0, raised // 6)
        average_days = rng.randint(5, 250) / 10
        repair_rows.append(
            (category, raised, in_target, round(100 * in_target / raised, 1), average_days)
        )
    band_rows: list[tuple[object, ...]] = []
    for band in (
        "Band A - urgent need",
        "Band B - high need",
        "Band C - medium need (lacking one bedroom)",
        "Band D - low need",
    ):
        counts = [rng.randint(5, 400) for _ in range(4)]
        band_rows.append((band, *counts, sum(counts)))
    return [
        Entry(
            f"{_DAMP_CASE}/Tenant complaint.eml",
            "Complaint - damp and mould in my flat again",
            Eml(
                sender=tenant.resident_mailbox("example.com"),
                to=(f"Housing Repairs <repairs@{COUNCIL_DOMAIN}>",),
                body=_text(
                    "Hello,",
                    "",
                    "I want to make a formal complaint about the damp in my flat, Flat 3 "
                    "Kestrel House, Heron Way.",
                    "",
                    "This is the third time I have reported it. A contractor came in October "
                    "and painted over it, but the black mould has come back behind the wardrobe "
                    "and around the bedroom window.",
                    "",
                    "My youngest has asthma and the GP says the mould is making it worse.",
                    "",
                    "The extractor fan in the bathroom has not worked since the summer.",
                    "",
                    "Please can someone come out and sort out the cause this time.",
                    "",
                    tenant.name,
                    "Flat 3 Kestrel House",
                ),
                date=_uk_time(2024, 1, 15, 19, 42),
            ),
            (
                "black mould has come back behind the wardrobe",
                "extractor fan in the bathroom has not worked",
            ),
        ),
        Entry(
            f"{_DAMP_CASE}/Stage 1 response.docx",
            "Stage 1 complaint response HC-2024-0217",
            Docx(
                (
                    "Our reference: HC-2024-0217",
                    f"Dear {tenant.name}",
                    "Thank you for your complaint of 15 January 2024 about damp and mould at "
                    "Flat 3 Kestrel House, which I have investigated at stage 1.",
                    "## What we found",
                    "Our surveyor visited on 22 January 2024. Moisture readings confirmed "
                    "condensation dampness, made worse by the failed bathroom extractor fan and "
                    "a blocked trickle vent in the bedroom window.",
                    "## What we will do",
                    "- Replace the bathroom extractor fan with a humidity-controlled fan by "
                    "2 February 2024.",
                    "- Fit a positive input ventilation unit in the loft space by 16 February "
                    "2024.",
                    "- Treat the walls with a fungicidal wash and mould-resistant paint.",
                    "## Our decision",
                    "I uphold your complaint. The October repair treated the symptoms rather "
                    "than the cause, and we should have checked the ventilation then.",
                    "If you are unhappy with this response you can ask for stage 2 within 20 "
                    "working days, or contact the Housing Ombudsman Service.",
                    f"{manager.name}, Tenancy and Complaints Manager",
                ),
                author=manager.name,
            ),
            (
                "positive input ventilation unit in the loft space",
                "treated the symptoms rather than the cause",
            ),
        ),
        Entry(
            f"{_DAMP_CASE}/Stage 1 response email.eml",
            "Your complaint HC-2024-0217 - stage 1 response",
            Eml(
                sender=manager.officer_mailbox,
                to=(tenant.resident_mailbox("example.com"),),
                body=_text(
                    f"Dear {tenant.first},",
                    "",
                    "Please find attached our stage 1 response to your complaint about damp and "
                    "mould at Flat 3 Kestrel House.",
                    "",
                    "Our repairs team will ring you this week to book the extractor fan "
                    "replacement. If the dates in the letter do not suit, reply to this email.",
                    "",
                    "Kind regards",
                    "",
                    manager.name,
                    "Tenancy and Complaints Manager",
                    COUNCIL_NAME,
                    "Tel: 01632 960418",
                ),
                date=_uk_time(2024, 1, 26, 16, 10),
                attachments=(f"{_DAMP_CASE}/Stage 1 response.docx",),
            ),
            ("ring you this week to book the extractor fan replacement",),
        ),
        Entry(
            f"{_HEATING_CASE}/Stage 2 response.pdf",
            "Stage 2 complaint response HC-2024-0231",
            Pdf(
                (
                    "Our reference: HC-2024-0231",
                    f"Dear {cast.boiler_tenant.name}",
                    "Stage 2 complaint: loss of heating and hot water, 12 Heron Way",
                    "I have reviewed your complaint at stage 2, as you asked on 19 February "
                    "2024. You were without heating and hot water for 11 days in January.",
                    "The job was wrongly logged as routine when it should have been an "
                    "emergency repair. That was our mistake, and I am sorry.",
                    "## Remedy",
                    "- £150 compensation for loss of heating, plus £40 towards the cost of the "
                    "electric heaters you bought.",
                    "- Training for contact centre staff to prioritise heating repairs in winter.",
                    "This is our final response. If you remain dissatisfied you may refer your "
                    "complaint to the Housing Ombudsman Service.",
                    head_of_housing,
                )
            ),
            ("wrongly logged as routine", "prioritise heating repairs in winter"),
        ),
        Entry(
            "Housing/Repairs/Repairs performance Q1 2024-25.xlsx",
            "Responsive repairs performance - Q1 2024-25",
            Xlsx(
                (
                    "Repair category",
                    "Jobs raised",
                    "Completed in target",
                    "Per cent in target",
                    "Average days to complete",
                ),
                tuple(repair_rows),
            ),
            ("Damp and mould inspections", "Gas servicing (annual safety check)"),
        ),
        Entry(
            "Housing/Allocations/Allocations policy 2024.docx",
            "Housing allocations policy 2024",
            Docx(
                (
                    "## 1. Introduction",
                    "This policy explains how the council decides who is offered social "
                    "housing, as required by Part 6 of the Housing Act 1996.",
                    "## 2. Who can join the housing register",
                    "Applicants must be 18 or over and have a local connection of at least two "
                    "years with the borough, through residence, work or close family.",
                    "Members of the armed forces and care leavers are exempt from the local "
                    "connection rule.",
                    "## 3. Priority bands",
                    "- Band A: urgent need, including medical emergencies.",
                    "- Band B: high need, including homeless households owed the main duty.",
                    "- Band C: medium need, including households lacking one bedroom.",
                    "- Band D: low need, with a local connection but no assessed housing need.",
                    "## 4. Choice based lettings",
                    "Vacancies are advertised weekly on Northbridge HomeChoice. Applicants may "
                    "place up to three bids in each weekly cycle.",
                )
            ),
            ("local connection of at least two years", "up to three bids in each weekly cycle"),
        ),
        Entry(
            "Housing/Allocations/Housing register by band - March 2024.xlsx",
            "Housing register by band and bedroom need - March 2024",
            Xlsx(
                ("Band", "1 bed need", "2 bed need", "3 bed need", "4+ bed need", "Total"),
                tuple(band_rows),
            ),
            ("Band C - medium need (lacking one bedroom)",),
        ),
        Entry(
            "Housing/Allocations/Nominations agreement - Northbridge Homes Trust.pdf",
            "Nominations agreement - Northbridge Homes Trust",
            Pdf(
                (
                    "Agreement between Northbridge Borough Council and Northbridge Homes Trust",
                    "1. Nomination rights to 75 per cent of first lettings on new build schemes "
                    "go to the council.",
                    "2. Thereafter the council will nominate to 50 per cent of relets.",
                    "3. Vacancies: within two working days of receiving notice to quit, the "
                    "Trust will tell the council.",
                    "4. The Trust may refuse a nomination only on the grounds in schedule 2, "
                    "giving reasons in writing.",
                    "5. The Northbridge Housing Partnership Board reviews performance quarterly.",
                    f"Signed for the council: {head_of_housing}",
                    "Dated: 1 April 2024",
                )
            ),
            (
                "75 per cent of first lettings",
                "within two working days of receiving notice to quit",
            ),
        ),
    ]


_PAYMENTS = "Finance/Transparency/Supplier payments over £500"
_SUPPLIERS = (
    ("Amberline Facilities Management Ltd", "Corporate Services", "Building cleaning"),
    ("Brookside Office Supplies Ltd", "Corporate Services", "Stationery"),
    ("Calderwood Civil Engineering Ltd", "Environmental Services", "Car park resurfacing"),
    ("Dunmore Waste Services Ltd", "Environmental Services", "Waste disposal"),
    ("Eastgate IT Solutions Ltd", "Corporate Services", "Software licences"),
    ("Fellside Legal LLP", "Legal Services", "External legal advice"),
    ("Greystone Security Ltd", "Corporate Services", "Security services"),
    ("Hartley Fleet Hire Ltd", "Environmental Services", "Vehicle hire"),
    ("Kingsmead Catering Ltd", "Leisure and Culture", "Catering supplies"),
    ("Millbrook Grounds Maintenance Ltd", "Leisure and Culture", "Grounds maintenance"),
    ("Oakfield Lodgings Ltd", "Housing", "Bed and breakfast accommodation"),
    ("Quarry Hill Staffing Ltd", "Housing", "Agency staff"),
    ("Redbank Electrical Contractors Ltd", "Housing", "Responsive repairs"),
    ("Stonegate Roofing Ltd", "Housing", "Planned maintenance"),
    ("Upland Ecology Ltd", "Planning", "Ecology consultancy"),
)
_MONTHLY_HIGHLIGHTS = (
    ("April", 4, "Pennine Play Surfaces Ltd", "Leisure and Culture", "Play area safety surfacing"),
    ("May", 5, "Calder Valley Gritting Ltd", "Environmental Services", "Winter gritting final"),
    ("June", 6, "Moorside Tree Surgery Ltd", "Leisure and Culture", "Tree works Victoria Park"),
)
_STREETS = ("Market Square", "Canal Street", "Station Road", "High Street", "Bridge Street")
_PROPERTY_KINDS = (
    "Shop and premises",
    "Office and premises",
    "Warehouse and premises",
    "Cafe and premises",
    "Hairdressing salon and premises",
)


def _supplier_payments(rng: random.Random, month: int, highlight: tuple[str, ...]) -> Xlsx:
    supplier, service, expense = highlight
    picks = [rng.choice(_SUPPLIERS) for _ in range(rng.randint(14, 20))]
    payments = [(*pick, date(2024, month, rng.randint(1, 28))) for pick in picks]
    payments.append((supplier, service, expense, date(2024, month, rng.randint(1, 28))))
    payments.sort(key=lambda payment: (payment[3], payment[0]))
    first_transaction = rng.randint(400_000, 499_000)
    rows = tuple(
        (
            COUNCIL_NAME,
            service,
            expense,
            paid_on,
            first_transaction + index,
            rng.randint(50_000, 4_000_000) / 100,
            name,
        )
        for index, (name, service, expense, paid_on) in enumerate(payments)
    )
    header = (
        "Body name",
        "Service area",
        "Expense type",
        "Payment date",
        "Transaction number",
        "Net amount (£)",
        "Supplier name",
    )
    return Xlsx(header, rows)


def _business_rates(rng: random.Random) -> Xlsx:
    properties = [
        (
            f"NB{rng.randint(1_000_000, 9_999_999)}",
            f"{rng.randint(1, 120)} {rng.choice(_STREETS)}, Northbridge",
            rng.choice(_PROPERTY_KINDS),
            rng.randrange(4_000, 90_000, 250),
        )
        for _ in range(18)
    ]
    properties.append(
        ("NB0004417", "Unit 4 Riverside Trading Estate", "Vehicle repair workshop", 18_750)
    )
    properties.sort()
    rows: list[tuple[object, ...]] = []
    for account, address, description, rateable_value in properties:
        multiplier = 0.499 if rateable_value < 51_000 else 0.546
        # Small business rate relief is full up to £12,000 and tapers to nil at £15,000.
        relief = min(1.0, max(0.0, (15_000 - rateable_value) / 3_000))
        charge = round(rateable_value * multiplier * (1 - relief), 2)
        relief_text = f"{relief:.0%}" if relief else "None"
        rows.append(
            (
                account,
                address,
                description,
                rateable_value,
                f"{multiplier * 100:.1f}p",
                relief_text,
                charge,
            )
        )
    header = (
        "Account reference",
        "Property address",
        "Description",
        "Rateable value (£)",
        "Multiplier",
        "Small business rate relief",
        "Net charge 2024-25 (£)",
    )
    return Xlsx(header, tuple(rows))


def _finance(cast: Cast, rng: random.Random) -> list[Entry]:
    entries = [
        Entry(
            "Finance/Business Rates/Business rates schedule 2024-25.xlsx",
            "Business rates schedule 2024-25",
            _business_rates(rng),
            ("Unit 4 Riverside Trading Estate", "Vehicle repair workshop"),
        ),
        Entry(
            "Finance/Business Rates/Small business rate relief - guidance note.docx",
            "Small business rate relief - guidance note",
            Docx(
                (
                    "Small business rate relief reduces the bill for occupiers of a single "
                    "property with a low rateable value.",
                    "## Who qualifies",
                    "- A property with a rateable value below £12,000 gets 100 per cent relief.",
                    "- Between £12,000 and £15,000 the relief tapers from 100 per cent to nil.",
                    "- A ratepayer who takes on a second property keeps the relief for 12 months.",
                    "## How to apply",
                    "Relief is awarded automatically where we hold enough information. "
                    "Otherwise apply online or ring the Revenues team on 01632 960233.",
                    f"Issued by {cast.revenues_manager.name}, Revenues and Benefits Manager.",
                ),
                author=cast.revenues_manager.name,
            ),
            ("rateable value below £12,000", "keeps the relief for 12 months"),
        ),
    ]
    for month_name, month, *highlight in _MONTHLY_HIGHLIGHTS:
        title = f"Supplier payments over £500 - {month_name} 2024"
        entries.append(
            Entry(
                f"{_PAYMENTS}/2024-{month:02d} Supplier payments over £500.xlsx",
                title,
                _supplier_payments(rng, month, tuple(highlight)),
                (highlight[0], highlight[2]),
            )
        )
    entries.append(
        Entry(
            "Finance/Budget/Medium Term Financial Strategy 2024-25 to 2026-27.pdf",
            "Medium Term Financial Strategy 2024/25 to 2026/27",
            Pdf(
                (
                    "## Summary",
                    "The council faces a cumulative budget gap of £3.2 million by 2026/27.",
                    "The 2024/25 budget assumes a council tax increase of 2.99 per cent, the "
                    "most allowed without a referendum.",
                    "## Key risks",
                    "- Temporary accommodation cost £1.9 million in 2023/24 against a budget "
                    "of £0.8 million.",
                    "- Pay awards above the 4 per cent assumed in this strategy.",
                    "- Uncertainty over business rates retention beyond 2025/26.",
                    "## Reserves",
                    "General fund reserves are forecast to fall to £2.1 million by March 2027, "
                    "below the recommended minimum of £2.5 million.",
                    f"{cast.finance_director.name}, Director of Finance (Section 151 Officer)",
                )
            ),
            ("cumulative budget gap of £3.2 million", "council tax increase of 2.99 per cent"),
        )
    )
    return entries


def _human_resources(cast: Cast) -> list[Entry]:
    hr_author = f"{cast.hr_manager.name}, Human Resources"
    return [
        Entry(
            "HR/Policies/Flexible working policy.docx",
            "Flexible working policy",
            Docx(
                (
                    "## Purpose",
                    "The council supports flexible working where it meets the needs of the "
                    "service. Since 6 April 2024 every employee has a statutory right to "
                    "request flexible working from day one of employment.",
                    "## Making a request",
                    "- You may make two requests in any 12 month period.",
                    "- Make your request in writing on form HR-FW1 to your line manager.",
                    "- Managers must meet you and decide within two months, including appeal.",
                    "## Types of arrangement",
                    "Arrangements may include compressed hours, annualised hours, job sharing, "
                    "term-time working and hybrid working between the Town Hall and home.",
                    "Version 3.1, approved by the Employment Committee, March 2024.",
                ),
                author=hr_author,
            ),
            (
                "request flexible working from day one of employment",
                "annualised hours, job sharing, term-time working",
            ),
        ),
        Entry(
            "HR/Policies/Grievance procedure.docx",
            "Grievance procedure",
            Docx(
                (
                    "This procedure follows the ACAS Code of Practice on disciplinary and "
                    "grievance procedures.",
                    "## Informal resolution",
                    "Most concerns are best settled informally with your line manager, ideally "
                    "within five working days.",
                    "## Formal grievance",
                    "- Put the grievance in writing to the next level of management.",
                    "- A hearing will be held within ten working days. You may be accompanied "
                    "by a trade union representative or a work colleague.",
                    "- The outcome will be confirmed in writing within five working days.",
                    "## Appeals",
                    "Appeals are heard by two senior managers not previously involved.",
                ),
                author=hr_author,
            ),
            (
                "ACAS Code of Practice on disciplinary and grievance procedures",
                "accompanied by a trade union representative or a work colleague",
            ),
        ),
        Entry(
            "HR/Policies/Lone working policy.pdf",
            "Lone working policy",
            Pdf(
                (
                    "## Scope",
                    "This policy applies to all staff who work alone, including enforcement "
                    "officers, housing officers and caretakers.",
                    "## Before a visit",
                    "- Check the cautionary contacts register before visiting any address.",
                    "- Put the address and expected finish time in the shared visits calendar.",
                    "## During the visit",
                    "- Check in with your buddy every two hours and at the end of the day.",
                    "- Carry your lone worker alarm and keep it charged.",
                    "- If you feel unsafe, leave. No visit is worth the risk.",
                    "Owner: Health and Safety Team. Review date: April 2026.",
                )
            ),
            ("cautionary contacts register", "Check in with your buddy every two hours"),
        ),
        Entry(
            "HR/Policies/Annual leave and bank holidays 2024-25.txt",
            "Annual leave and bank holidays 2024/25",
            Txt(
                _text(
                    "Annual leave and bank holidays 2024/25",
                    "",
                    "Leave year: 1 April 2024 to 31 March 2025",
                    "",
                    "Basic entitlement: 26 days, rising to 31 days after five years' continuous "
                    "local government service. Pro rata for part-time staff.",
                    "",
                    "Bank holidays:",
                    "Easter Monday - 1 April 2024",
                    "Early May bank holiday - 6 May 2024",
                    "Spring bank holiday - 27 May 2024",
                    "Summer bank holiday - 26 August 2024",
                    "Christmas Day - 25 December 2024",
                    "Boxing Day - 26 December 2024",
                    "New Year's Day - 1 January 2025",
                    "",
                    "The Town Hall closes between Christmas and New Year. Please keep three "
                    "days of annual leave for the closure on 27, 30 and 31 December 2024.",
                    "",
                    "Up to five days can be carried forward with your manager's agreement.",
                )
            ),
            (
                "keep three days of annual leave for the closure",
                "Up to five days can be carried forward",
            ),
        ),
        Entry(
            "HR/Recruitment/2024/Senior Planning Officer/Job description.docx",
            "Job description - Senior Planning Officer",
            Docx(
                (
                    "Post: Senior Planning Officer (Development Management)",
                    "Grade: NBC9, £37,938 to £41,418 a year",
                    "Reports to: Development Management Team Leader",
                    "## Purpose of the job",
                    "To manage a caseload of major and complex planning applications, from "
                    "pre-application advice to decision and appeal.",
                    "## Main duties",
                    "- Negotiate planning obligations with developers and the legal team.",
                    "- Present reports and recommendations to Planning Committee.",
                    "- Defend decisions at written representations and informal hearing appeals.",
                    "## Person specification",
                    "Essential: a qualification accredited by the Royal Town Planning Institute "
                    "and experience of major applications.",
                ),
                author=hr_author,
            ),
            (
                "written representations and informal hearing appeals",
                "accredited by the Royal Town Planning Institute",
            ),
        ),
    ]


_PLANNING_COMMITTEE = "Democratic Services/Committees/Planning Committee"
_CABINET = "Democratic Services/Committees/Cabinet/2024-02-07"


def _democratic_services(cast: Cast) -> list[Entry]:
    chair, leader, ward = cast.committee_chair, cast.council_leader, cast.ward_councillor
    contact = f"Contact: {cast.democratic_officer.name}, Democratic Services, 01632 960512"
    return [
        Entry(
            f"{_PLANNING_COMMITTEE}/2024-03-20/Agenda.docx",
            "Planning Committee agenda - 20 March 2024",
            Docx(
                (
                    "Wednesday 20 March 2024 at 6.30pm, Council Chamber, Town Hall, Northbridge",
                    f"Chair: Councillor {chair.name}",
                    "## Agenda",
                    "1. Apologies for absence",
                    "2. Declarations of disclosable pecuniary interests and other registrable "
                    "interests",
                    "3. Minutes of the meeting held on 21 February 2024",
                    "4. 23/02311/OUT - Land north of Station Road: up to 45 dwellings",
                    "5. Appeals lodged and decided since the last meeting",
                    "Anyone wishing to speak on an application must register with Democratic "
                    "Services by noon on Monday 18 March 2024.",
                    contact,
                )
            ),
            (
                "disclosable pecuniary interests and other registrable interests",
                "register with Democratic Services by noon",
            ),
        ),
        Entry(
            f"{_PLANNING_COMMITTEE}/2024-03-20/Minutes.pdf",
            "Planning Committee minutes - 20 March 2024",
            Pdf(
                (
                    f"Present: Councillor {chair.name} (Chair) and ten other members.",
                    "## 1. Apologies",
                    f"Apologies were received from Councillor {ward.name}.",
                    "## 2. Declarations of interest",
                    "None.",
                    "## 4. 23/02311/OUT - Land north of Station Road",
                    "The case officer presented the report. A representative of Northbridge "
                    "Town Council and two residents spoke against; the agent spoke in support.",
                    "Members discussed traffic on Station Road and school places.",
                    "RESOLVED that outline planning permission be granted subject to a section "
                    "106 agreement.",
                    "(Voting: 8 for, 2 against, 1 abstention)",
                    "The meeting closed at 8.14pm.",
                )
            ),
            ("RESOLVED that outline planning permission be granted", "8 for, 2 against"),
        ),
        Entry(
            f"{_PLANNING_COMMITTEE}/2024-04-17/Agenda.docx",
            "Planning Committee agenda - 17 April 2024",
            Docx(
                (
                    "Wednesday 17 April 2024 at 6.30pm, Council Chamber, Town Hall, Northbridge",
                    f"Chair: Councillor {chair.name}",
                    "## Agenda",
                    "1. Apologies for absence",
                    "2. Declarations of interest",
                    "3. Minutes of the meeting held on 20 March 2024",
                    "4. 24/01234/FUL - 14 Mill Lane: two-storey rear extension. Called in by "
                    "the ward councillor on grounds of residential amenity.",
                    "5. 24/00412/FUL - Land adjacent to 2 Brook Street: one detached dwelling",
                    "Members' site visits leave the Town Hall car park at 2pm on the day.",
                    contact,
                )
            ),
            (
                "Called in by the ward councillor on grounds of residential amenity",
                "leave the Town Hall car park at 2pm",
            ),
        ),
        Entry(
            f"{_PLANNING_COMMITTEE}/2024-04-17/Minutes.pdf",
            "Planning Committee minutes - 17 April 2024",
            Pdf(
                (
                    f"Present: Councillor {chair.name} (Chair) and nine other members.",
                    "## 4. 24/01234/FUL - 14 Mill Lane",
                    f"Overlooking of 16 Mill Lane was raised by Councillor {ward.name}, "
                    "speaking as ward councillor.",
                    "RESOLVED that planning permission be granted as recommended.",
                    "## 5. 24/00412/FUL - Land adjacent to 2 Brook Street",
                    "RESOLVED that the application be deferred for a site visit to assess the "
                    "effect on the conservation area.",
                    "The meeting closed at 7.52pm.",
                )
            ),
            ("deferred for a site visit", "Overlooking of 16 Mill Lane"),
        ),
        Entry(
            f"{_CABINET}/Agenda.docx",
            "Cabinet agenda - 7 February 2024",
            Docx(
                (
                    "Wednesday 7 February 2024 at 5pm, Committee Room 1, Town Hall",
                    f"Chair: Councillor {leader.name}, Leader of the Council",
                    "1. Apologies for absence",
                    "2. Declarations of interest",
                    "3. Revenue budget and council tax setting 2024/25 (key decision)",
                    "4. Capital programme 2024/25 to 2026/27",
                    "5. Northbridge Baths: leisure centre refurbishment (key decision)",
                    "6. Exclusion of the press and public: item 7 contains exempt information "
                    "under paragraph 3 of Schedule 12A to the Local Government Act 1972.",
                    "7. Disposal of land at the former Ashby Road depot (exempt)",
                    contact,
                )
            ),
            (
                "Revenue budget and council tax setting 2024/25",
                "paragraph 3 of Schedule 12A",
            ),
        ),
        Entry(
            f"{_CABINET}/Minutes.pdf",
            "Cabinet minutes - 7 February 2024",
            Pdf(
                (
                    f"Present: Councillor {leader.name} (Leader, in the Chair) and six Cabinet "
                    "members.",
                    "## 3. Budget and council tax 2024/25",
                    "RESOLVED to recommend to Council a Band D council tax of £228.46 for 2024/25.",
                    "## 5. Northbridge Baths",
                    "RESOLVED to approve a £4.6 million refurbishment of Northbridge Baths, "
                    "funded by prudential borrowing.",
                    "## 7. Former Ashby Road depot (exempt)",
                    "RESOLVED to delegate the disposal to the Director of Finance.",
                )
            ),
            ("Band D council tax of £228.46", "refurbishment of Northbridge Baths"),
        ),
        Entry(
            f"{_CABINET}/Record of decisions.txt",
            "Record of decisions - Cabinet, 7 February 2024",
            Txt(
                _text(
                    "Record of decisions - Cabinet, 7 February 2024",
                    "Published: 9 February 2024",
                    "",
                    "The call-in period expires at 5pm on 16 February 2024. Decisions may not "
                    "be implemented before then unless marked urgent.",
                    "",
                    "CAB/24/011  Revenue budget and council tax 2024/25 - recommended to Council",
                    "CAB/24/012  Capital programme 2024/25 to 2026/27 - approved",
                    "CAB/24/013  Northbridge Baths refurbishment - approved (key decision)",
                    "CAB/24/014  Former Ashby Road depot - disposal delegated (exempt)",
                    "",
                    contact,
                )
            ),
            ("call-in period expires at 5pm", "Northbridge Baths refurbishment - approved"),
        ),
        Entry(
            "Democratic Services/Member enquiries/2024/Street lighting Ashby Road.eml",
            "Street lights out on Ashby Road",
            Eml(
                sender=f"Cllr {ward.name} <cllr.{ward.first.lower()}.{ward.last.lower()}"
                f"@{COUNCIL_DOMAIN}>",
                to=(f"Member Enquiries <member.enquiries@{COUNCIL_DOMAIN}>",),
                body=_text(
                    "Hi,",
                    "",
                    "Several residents have been in touch about street lights on Ashby Road. "
                    "There are three columns out between the roundabout and the Co-op, and it "
                    "is very dark for people walking back from the station.",
                    "",
                    "I know street lighting is the county's, but could you chase Northshire "
                    "and let me know a date for the repair?",
                    "",
                    "Thanks",
                    "",
                    f"Cllr {ward.name}",
                    "Ashby Ward",
                ),
                date=_uk_time(2024, 2, 12, 8, 31),
            ),
            ("three columns out between the roundabout and the Co-op",),
        ),
    ]


_DOG_CASE = "Environmental Health/Noise/EH-NC-24-0088 27 Willow Crescent"
_PUB_CASE = "Environmental Health/Noise/EH-NC-24-0102 The Fox and Hounds"
_EH_MAILBOX = f"Environmental Health <environmental.health@{COUNCIL_DOMAIN}>"
# Spelled as an escape because ruff rightly flags a literal en dash as ambiguous.
_EN_DASH = "\u2013"
_FOOD_PREMISES = (
    "Bridge Street Bakery",
    "The Fox and Hounds",
    "Northbridge Primary School kitchen",
    "Spice Garden",
    "Market Square Fish Bar",
    "Kestrel House Community Cafe",
    "Mill Lane Stores",
    "Lowfold Farm Shop",
    "Town Hall staff canteen",
    "Station Road Kebab House",
    "Riverside Care Home",
)
# Months between inspections for each food hygiene risk category.
_INSPECTION_INTERVAL_MONTHS = {"A": 6, "B": 12, "C": 18, "D": 24, "E": 36}


def _noise_diary(rng: random.Random) -> Xlsx:
    weekdays = [day for day in range(9, 23) if date(2024, 4, day).weekday() < 5]
    highlighted = rng.randrange(len(weekdays))
    rows: list[tuple[object, ...]] = []
    for index, day in enumerate(weekdays):
        start_minute = rng.randint(0, 50)
        stop_hour = rng.randint(7, 17)
        noise = (
            "Continuous barking while owners out"
            if index == highlighted
            else rng.choice(("Dog barking", "Barking and howling", "Whining and barking"))
        )
        effect = rng.choice(("Woken up", "Could not get back to sleep", "Had to go out"))
        rows.append(
            (date(2024, 4, day), f"06:{start_minute:02d}", f"{stop_hour:02d}:15", noise, effect)
        )
    return Xlsx(
        ("Date", "Time started", "Time stopped", "Type of noise", "Effect on me"), tuple(rows)
    )


def _food_inspections(rng: random.Random) -> Xlsx:
    premises = [
        (name, rng.choice("BCDE"), rng.choice((3, 4, 4, 5, 5, 5))) for name in _FOOD_PREMISES
    ]
    premises.append(("Golden Dragon Takeaway", "A", 1))
    rows: list[tuple[object, ...]] = []
    for name, category, rating in sorted(premises):
        inspected = date(2023, rng.randint(1, 12), rng.randint(1, 28))
        months = inspected.month - 1 + _INSPECTION_INTERVAL_MONTHS[category]
        due = date(inspected.year + months // 12, months % 12 + 1, inspected.day)
        rows.append((name, "Northbridge", category, inspected, rating, due))
    header = (
        "Premises",
        "Town",
        "Risk category",
        "Last inspected",
        "Food hygiene rating",
        "Next inspection due",
    )
    return Xlsx(header, tuple(rows))


def _environmental_health(cast: Cast, rng: random.Random) -> list[Entry]:
    officer, neighbour = cast.eh_officer, cast.dog_complainant
    return [
        Entry(
            f"{_DOG_CASE}/Complaint.eml",
            "Noise complaint - dog barking next door",
            Eml(
                sender=neighbour.resident_mailbox("example.net"),
                to=(_EH_MAILBOX,),
                body=_text(
                    "Dear Environmental Health,",
                    "",
                    "I live at 25 Willow Crescent. The dog at number 27 is left alone all day "
                    "and barks from about 6am every weekday until the owners get home.",
                    "",
                    "I work nights and cannot sleep. I have spoken to the neighbours twice but "
                    "nothing has changed.",
                    "",
                    "Can you please investigate? I am happy to keep a diary.",
                    "",
                    neighbour.name,
                    "25 Willow Crescent",
                ),
                date=_uk_time(2024, 4, 8, 7, 5),
            ),
            ("barks from about 6am every weekday", "I work nights and cannot sleep"),
        ),
        Entry(
            f"{_DOG_CASE}/Letter to occupier.docx",
            "Noise complaint letter to occupier - EH-NC-24-0088",
            Docx(
                (
                    "The Occupier, 27 Willow Crescent, Northbridge NB4 6TS",
                    "Reference: EH-NC-24-0088",
                    "Dear Occupier",
                    "The council has received a complaint about a dog barking at your address "
                    "for long periods while the house is empty.",
                    "We have not decided whether a statutory nuisance exists under section 79 "
                    "of the Environmental Protection Act 1990. This letter makes you aware of "
                    "the complaint so that you can put things right.",
                    "Owners often do not know their dog barks while they are out. The enclosed "
                    "leaflet suggests leaving a radio on, using a dog walker or a doggy day care "
                    "service.",
                    "If the problem continues we will monitor it, which may lead to an "
                    "abatement notice.",
                    f"{officer.name}, Environmental Health Officer",
                ),
                author=officer.name,
            ),
            (
                "statutory nuisance exists under section 79",
                "using a dog walker or a doggy day care service",
            ),
        ),
        Entry(
            f"{_DOG_CASE}/Noise diary sheets.xlsx",
            "Noise diary - 25 Willow Crescent",
            _noise_diary(rng),
            ("Continuous barking while owners out",),
        ),
        Entry(
            f"{_DOG_CASE}/Update to complainant.eml",
            "EH-NC-24-0088 - your noise complaint",
            Eml(
                sender=officer.officer_mailbox,
                to=(neighbour.resident_mailbox("example.net"),),
                body=_text(
                    f"Dear {neighbour.first},",
                    "",
                    "Thank you for returning the noise diary sheets, which show barking on "
                    "most weekdays.",
                    "",
                    "We have written to the occupier of number 27. Please keep the diary for "
                    "two more weeks. If the barking continues we will install noise monitoring "
                    "equipment in your bedroom for a week.",
                    "",
                    "Kind regards",
                    "",
                    officer.name,
                    "Environmental Health Officer",
                    "Tel: 01632 960771",
                ),
                date=_uk_time(2024, 4, 24, 11, 20),
            ),
            ("install noise monitoring equipment in your bedroom",),
        ),
        Entry(
            f"{_PUB_CASE}/Complaint.eml",
            "Loud music from the Fox and Hounds AGAIN",
            Eml(
                sender=cast.pub_complainant.resident_mailbox("example.org"),
                to=(_EH_MAILBOX,),
                body=_text(
                    "Hello",
                    "",
                    "It is nearly 1am on Sunday and the Fox and Hounds on Lowfold Road is still "
                    "playing amplified music in the beer garden. This is the third weekend "
                    "running.",
                    "",
                    "Their licence says music outside has to stop at 11pm. Our windows are shut "
                    "and we can still hear every word.",
                    "",
                    "Please can someone come out next weekend and hear it for themselves.",
                    "",
                    cast.pub_complainant.name,
                    "Lowfold Road",
                ),
                date=_uk_time(2024, 6, 2, 0, 48),
            ),
            ("amplified music in the beer garden", "we can still hear every word"),
        ),
        Entry(
            f"{_PUB_CASE}/Officer visit notes.txt",
            "Out of hours visit notes - The Fox and Hounds",
            Txt(
                _text(
                    "EH-NC-24-0102  The Fox and Hounds, Lowfold Road",
                    "Out of hours visit: Saturday 8 June 2024, 22:40 to 23:55",
                    f"Officers: {officer.name} and {cast.licensing_officer.name} (Licensing)",
                    "",
                    "22:45  Live band in the beer garden, clearly audible at the complainant's "
                    "rear boundary.",
                    "23:05  Readings of 58 dB LAeq over 5 minutes at the complainant's "
                    "boundary. Background without music about 41 dB.",
                    "23:10  Spoke to the designated premises supervisor: condition 7 of the "
                    "premises licence requires outdoor music to end at 23:00.",
                    "23:20  Music moved indoors, doors and windows closed. Inaudible at the "
                    "boundary by 23:30.",
                    "",
                    "Outcome: breach of condition 7 witnessed. Warning letter to follow; refer "
                    "to Licensing for a review if it happens again.",
                )
            ),
            ("Readings of 58 dB LAeq over 5 minutes", "condition 7 of the premises licence"),
        ),
        Entry(
            f"Environmental Health/Licensing/Pavement licences/Café licence {_EN_DASH} résumé.txt",
            f"Pavement licence {_EN_DASH} résumé of application, Café Rosé",
            Txt(
                _text(
                    f"Pavement licence {_EN_DASH} résumé of application",
                    "",
                    f"Applicant: {cast.cafe_owner.name}, trading as Café Rosé",
                    "Premises: 8 Market Square, Northbridge NB1 1AB",
                    "Application received: 13 May 2024",
                    "Consultation period: 7 days, ended 20 May 2024",
                    "",
                    "Proposal: a pavement licence for six tables and twelve chairs on the "
                    "pedestrianised part of Market Square, 9am to 8pm daily, keeping a 1.5 "
                    "metre clear route for pedestrians.",
                    "",
                    f"Consultation: Northshire County Council (Highways) {_EN_DASH} no "
                    "objection. One resident asked that the furniture is taken in each night.",
                    "",
                    "Recommendation: grant for two years with standard conditions, plus a "
                    "condition that all furniture is removed at close of business.",
                    "",
                    f"Officer: {cast.licensing_officer.name}, Licensing Officer",
                )
            ),
            ("pavement licence for six tables and twelve chairs", "trading as Café Rosé"),
        ),
        Entry(
            "Environmental Health/Food Safety/Food hygiene inspection programme 2024-25.xlsx",
            "Food hygiene inspection programme 2024-25",
            _food_inspections(rng),
            ("Golden Dragon Takeaway", "Station Road Kebab House"),
        ),
    ]


_TOILETS_REQUEST = "FOI/2024/FOI-2024-0456 Public toilet cleaning contract"
_HOUSING_REQUEST = "FOI/2024/FOI-2024-0512 Temporary accommodation costs"
_FOI_MAILBOX = f"Freedom of Information <foi@{COUNCIL_DOMAIN}>"
_LOGGED_REQUESTS = (
    ("FOI-2024-0398", date(2024, 4, 2), "FOI", "Councillor expenses 2023/24"),
    ("FOI-2024-0411", date(2024, 4, 9), "FOI", "Number of empty homes by ward"),
    ("EIR-2024-0419", date(2024, 4, 12), "EIR", "Japanese knotweed on council land"),
    ("FOI-2024-0427", date(2024, 4, 17), "FOI", "Dog fouling fixed penalty notices"),
    ("FOI-2024-0433", date(2024, 4, 22), "FOI", "Agency staff spend"),
    ("EIR-2024-0440", date(2024, 4, 26), "EIR", "Fly-tipping incidents by ward"),
    ("FOI-2024-0456", date(2024, 5, 7), "FOI", "Public toilet cleaning contract"),
    ("FOI-2024-0471", date(2024, 5, 10), "FOI", "Cyber security incidents"),
    ("FOI-2024-0488", date(2024, 5, 15), "FOI", "Licensed houses in multiple occupation"),
    ("FOI-2024-0512", date(2024, 5, 20), "FOI", "Temporary accommodation costs"),
    ("EIR-2024-0520", date(2024, 5, 23), "EIR", "Air quality monitoring data"),
    ("FOI-2024-0534", date(2024, 5, 30), "FOI", "Parking permit income"),
)
_OUTCOMES = (
    ("Provided in full", ""),
    ("Provided in full", ""),
    ("Part provided", "s.40(2) personal information"),
    ("Part provided", "s.43(2) commercial interests"),
    ("Not held", ""),
    ("Refused", "s.12 cost limit"),
)


def _request_log(rng: random.Random) -> Xlsx:
    rows: list[tuple[object, ...]] = []
    for reference, received, regime, subject in _LOGGED_REQUESTS:
        outcome, exemption = rng.choice(_OUTCOMES)
        if reference == "FOI-2024-0456":
            outcome, exemption = "Part provided", "s.43(2) commercial interests"
        elif regime == "EIR" and exemption:
            exemption = "reg. 12(4)(b) manifestly unreasonable"
        due = _working_day(received, 20)
        responded = _working_day(received, rng.randint(6, 24))
        rows.append((reference, received, regime, subject, due, responded, outcome, exemption))
    header = (
        "Reference",
        "Received",
        "Regime",
        "Subject",
        "Due",
        "Responded",
        "Outcome",
        "Exemption applied",
    )
    return Xlsx(header, tuple(rows))


def _freedom_of_information(cast: Cast, rng: random.Random) -> list[Entry]:
    officer = cast.foi_officer
    toilets, tenants = cast.toilets_requester, cast.housing_requester
    placements = [rng.randint(40, 160) for _ in range(3)]
    spend = [rng.randint(300, 1900) * 1000 for _ in range(3)]
    years = ("2021/22", "2022/23", "2023/24")
    return [
        Entry(
            f"{_TOILETS_REQUEST}/Request.eml",
            "Freedom of Information request - public toilet cleaning",
            Eml(
                sender=toilets.resident_mailbox("example.com"),
                to=(_FOI_MAILBOX,),
                body=_text(
                    "Dear Northbridge Borough Council,",
                    "",
                    "Under the Freedom of Information Act 2000 please provide:",
                    "",
                    "1. A copy of the current contract for cleaning the public toilets in the "
                    "town centre and at Victoria Park.",
                    "2. The annual value of the contract in each of the last three years.",
                    "3. The number of complaints about the cleanliness of the toilets in 2023.",
                    "",
                    "I would prefer to receive the information electronically.",
                    "",
                    "Yours faithfully,",
                    "",
                    toilets.name,
                ),
                date=_uk_time(2024, 5, 7, 13, 14),
            ),
            ("current contract for cleaning the public toilets",),
        ),
        Entry(
            f"{_TOILETS_REQUEST}/Response.pdf",
            "Response to FOI-2024-0456 - public toilet cleaning contract",
            Pdf(
                (
                    "Freedom of Information Act 2000 - request FOI-2024-0456",
                    f"Dear {toilets.name}",
                    "Thank you for your request of 7 May 2024. We hold the information you "
                    "asked for; our response to each part is below.",
                    "## 1. Copy of the contract",
                    "We have withheld the schedule of rates under section 43(2) of the Act, as "
                    "disclosure would be likely to prejudice the commercial interests of the "
                    "contractor and of the council. The rest of the contract is enclosed.",
                    "Transparency in public spending favours disclosure, but the contract is "
                    "to be retendered in 2025 and releasing unit prices would weaken "
                    "competition.",
                    "On balance the public interest favours withholding the information.",
                    "## 2. Annual value",
                    "2021/22: £84,200. 2022/23: £86,950. 2023/24: £91,300.",
                    "## 3. Complaints",
                    "We received 23 complaints about the cleanliness of the toilets in 2023.",
                    "## Your right to complain",
                    "If you are unhappy with this response you may ask for an internal review "
                    "within 40 working days, and then complain to the Information "
                    "Commissioner's Office.",
                    f"{officer.name}, Information Governance Officer. Date: 4 June 2024.",
                )
            ),
            (
                "withheld the schedule of rates",
                "On balance the public interest favours withholding the information",
            ),
        ),
        Entry(
            f"{_TOILETS_REQUEST}/Response email.eml",
            "RE: FOI-2024-0456 Freedom of Information request - public toilet cleaning",
            Eml(
                sender=officer.officer_mailbox,
                to=(toilets.resident_mailbox("example.com"),),
                body=_text(
                    f"Dear {toilets.first},",
                    "",
                    "Please find attached our response to your request FOI-2024-0456. The "
                    "redacted contract will follow in a separate email because of its size.",
                    "",
                    "Kind regards",
                    "",
                    officer.name,
                    "Information Governance Officer",
                    COUNCIL_NAME,
                ),
                date=_uk_time(2024, 6, 4, 15, 2),
                attachments=(f"{_TOILETS_REQUEST}/Response.pdf",),
            ),
            ("redacted contract will follow in a separate email",),
        ),
        Entry(
            f"{_HOUSING_REQUEST}/Request.eml",
            "FOI request: temporary accommodation",
            Eml(
                sender=tenants.resident_mailbox("example.org"),
                to=(_FOI_MAILBOX,),
                body=_text(
                    "Please could you tell me, for each of 2021/22, 2022/23 and 2023/24:",
                    "",
                    "a) how many households the council placed in bed and breakfast;",
                    "b) the total amount spent on nightly paid temporary accommodation;",
                    "c) the longest time a family with children spent in bed and breakfast.",
                    "",
                    "Thank you,",
                    tenants.name,
                    "Northbridge Tenants' Voice",
                ),
                date=_uk_time(2024, 5, 20, 9, 3),
            ),
            ("total amount spent on nightly paid temporary accommodation",),
        ),
        Entry(
            f"{_HOUSING_REQUEST}/Response.docx",
            "Response to FOI-2024-0512 - temporary accommodation costs",
            Docx(
                (
                    "Request reference: FOI-2024-0512",
                    f"Dear {tenants.name}",
                    "Thank you for your request of 20 May 2024 about temporary accommodation.",
                    "## Households placed in bed and breakfast",
                    ". ".join(
                        f"{y}: {n} households" for y, n in zip(years, placements, strict=True)
                    ),
                    "## Spending on nightly paid temporary accommodation",
                    ". ".join(f"{y}: £{s:,}" for y, s in zip(years, spend, strict=True)),
                    "## Longest stay",
                    "The longest stay by a family with children in bed and breakfast in "
                    "2023/24 was nine weeks. The law limits this to six weeks, and we have "
                    "reported the breach to the Housing Scrutiny Committee.",
                    "Some of this information is published in our quarterly homelessness "
                    "statistics on the council's open data page.",
                    f"{officer.name}, Information Governance Officer",
                ),
                author=officer.name,
            ),
            ("The law limits this to six weeks", "quarterly homelessness statistics"),
        ),
        Entry(
            "FOI/FOI and EIR request log 2024.xlsx",
            "FOI and EIR request log 2024",
            _request_log(rng),
            ("Dog fouling fixed penalty notices", "Japanese knotweed on council land"),
        ),
    ]
