//! The day model: which events happen to which person on which day.
//!
//! Day 1 is the directory as generated from the seed. Every later day applies, person by person,
//! the events of days 2, 3, … N to what day 1 drew for that person (see the crate documentation).
//! This module decides *which* event happens to *whom* and *when*; what an event does to a
//! person's rows and side-file lines is up to the [`Evolving`] implementation of the RPPS generator.
//!
//! Everything here is a function of (seed, persons, rates, person index, day): the decision for a
//! person on a day is a hash of (seed, index, day), and the detail of an event draws from a ChaCha
//! stream seeded from the same key. No decision depends on another person's events, except the
//! choice of the persons who carry the forced events (see [`Schedule::evolve`]), which depends only
//! on the persons before them and on days before the forced one, so it is the same whatever the day
//! generated.

use super::random::{GenRng, derived_rng, domain, mix, splitmix64};

/// Highest day [`crate::generate`] accepts: the forced-event table holds nine flags per day.
pub const MAX_DAY: u32 = 10_000;

/// One million: rates are in parts per million so that options stay `Eq` and `const`.
const PPM: u64 = 1_000_000;

/// Probabilities, per person and per day, of each kind of event, in parts per million.
///
/// The defaults touch about 1 % of the persons per day (the benchmark assumption of the
/// synchronisation features): about 0.85 % of the present persons have an event, and 0.1 % of
/// `persons` new persons appear (measured: 14 185 persons touched on day 10 of 1.5 million). A
/// person has at most one event per day. A rate applies to the persons the event can happen to: `address_ppm` to persons with a solo cabinet, `profession_ppm`
/// to persons registered with a single profession other than pharmacien; the others apply to every
/// present person (an activity change adds an activity to a person without one, a mailbox change
/// adds a mailbox to a person without one). Each present person's chances add up, so the rates
/// must not sum above one million.
///
/// Whatever the rates, every day from 2 on also carries at least one event of each kind, on
/// persons chosen deterministically (see the crate documentation), so that even a 100-person file
/// shows every kind every day.
///
/// The defaults are the benchmark's assumption, not the real directory's pace: a daily RPPS
/// extraction changes far fewer persons, but a few generated days must exercise every path of the
/// synchronisation features at a measurable volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailyRates {
    /// A person retires: they disappear from the RPPS and side files. Default 1 000 (0.1 %).
    pub retirement_ppm: u32,
    /// New persons per day, per million `persons` (not per present person). Default 1 000.
    pub new_persons_ppm: u32,
    /// An activity row is added, removed, or moved to another structure (a PractitionerRole
    /// appears, disappears or changes). Default 3 000.
    pub activity_ppm: u32,
    /// A person's solo cabinet (an RPPS structure only they use) moves: its address columns change
    /// on all their rows. Applies to persons with a solo cabinet (≈ 40 % of persons): default 6 000,
    /// i.e. ≈ 0.24 % of all persons per day.
    pub address_ppm: u32,
    /// A person's profession code changes (their Practitioner id, `pp-<national id>-<profession>`,
    /// changes). Rare: default 200.
    pub profession_ppm: u32,
    /// A personal MSSanté mailbox is added (person without one), removed or its address changed.
    /// Default 2 000.
    pub mailbox_ppm: u32,
    /// A healthcare activity authorisation ends (its line leaves the activities file), per
    /// hospital and day. Default 500.
    pub care_activity_closed_ppm: u32,
    /// A heavy equipment unit is removed, per hospital and day. Default 500.
    pub device_removed_ppm: u32,
    /// A heavy equipment unit is added, per hospital and day. Default 500.
    pub device_added_ppm: u32,
    /// The installed capacity of a social equipment line changes, per ESSMS and day. Default 1 000.
    pub social_capacity_ppm: u32,
    /// A legal entity's seat moves (its address changes), per legal entity and day. Default 300.
    pub legal_entity_address_ppm: u32,
}

impl DailyRates {
    /// The documented defaults (≈ 1 % of persons touched per day).
    pub const DEFAULT: DailyRates = DailyRates {
        retirement_ppm: 1_000,
        new_persons_ppm: 1_000,
        activity_ppm: 3_000,
        address_ppm: 6_000,
        profession_ppm: 200,
        mailbox_ppm: 2_000,
        care_activity_closed_ppm: 500,
        device_removed_ppm: 500,
        device_added_ppm: 500,
        social_capacity_ppm: 1_000,
        legal_entity_address_ppm: 300,
    };

    /// No random event: later days carry only the forced events (one of each kind per day, one new
    /// person per day).
    pub const NONE: DailyRates = DailyRates {
        retirement_ppm: 0,
        new_persons_ppm: 0,
        activity_ppm: 0,
        address_ppm: 0,
        profession_ppm: 0,
        mailbox_ppm: 0,
        care_activity_closed_ppm: 0,
        device_removed_ppm: 0,
        device_added_ppm: 0,
        social_capacity_ppm: 0,
        legal_entity_address_ppm: 0,
    };
}

impl Default for DailyRates {
    fn default() -> Self {
        DailyRates::DEFAULT
    }
}

/// Events that happened on the day generated (all zero on day 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayEvents {
    /// Persons who retired that day (absent from that day's files on).
    pub retirements: u64,
    /// Persons who appeared that day (indices `persons..`, in the files from that day on).
    pub new_persons: u64,
    /// Activities added (one more RPPS activity, hence PractitionerRole).
    pub activities_added: u64,
    /// Activities removed (a person's last one leaves them without activity).
    pub activities_removed: u64,
    /// Activities moved to another structure.
    pub activities_moved: u64,
    /// Solo cabinets that moved (address columns changed).
    pub addresses_changed: u64,
    /// Profession codes changed.
    pub professions_changed: u64,
    /// Personal mailboxes added.
    pub mailboxes_added: u64,
    /// Personal mailboxes removed.
    pub mailboxes_removed: u64,
    /// Personal mailboxes whose address changed.
    pub mailboxes_changed: u64,
    /// Healthcare activity authorisations that ended (lines gone from the activities file).
    pub care_activities_closed: u64,
    /// Heavy equipment units removed.
    pub devices_removed: u64,
    /// Heavy equipment units added.
    pub devices_added: u64,
    /// Social equipment lines whose installed capacity changed.
    pub social_capacities_changed: u64,
    /// Legal entities whose address changed.
    pub legal_entity_addresses_changed: u64,
}

impl DayEvents {
    /// Records of the four other FINESS files changed that day (they touch no person).
    pub fn finess_changes(&self) -> u64 {
        self.care_activities_closed
            + self.devices_removed
            + self.devices_added
            + self.social_capacities_changed
            + self.legal_entity_addresses_changed
    }

    /// Persons touched that day: one event per person per day, plus the new persons.
    pub fn total(&self) -> u64 {
        self.retirements
            + self.new_persons
            + self.activity_changes()
            + self.addresses_changed
            + self.professions_changed
            + self.mailbox_changes()
    }

    /// Activities added, removed or moved.
    pub fn activity_changes(&self) -> u64 {
        self.activities_added + self.activities_removed + self.activities_moved
    }

    /// Personal mailboxes added, removed or changed.
    pub fn mailbox_changes(&self) -> u64 {
        self.mailboxes_added + self.mailboxes_removed + self.mailboxes_changed
    }

    fn count(&mut self, kind: EventKind) {
        let counter = match kind {
            EventKind::Retirement => &mut self.retirements,
            EventKind::ActivityAdded => &mut self.activities_added,
            EventKind::ActivityRemoved => &mut self.activities_removed,
            EventKind::ActivityMoved => &mut self.activities_moved,
            EventKind::AddressChanged => &mut self.addresses_changed,
            EventKind::ProfessionChanged => &mut self.professions_changed,
            EventKind::MailboxAdded => &mut self.mailboxes_added,
            EventKind::MailboxRemoved => &mut self.mailboxes_removed,
            EventKind::MailboxChanged => &mut self.mailboxes_changed,
        };
        *counter += 1;
    }
}

/// What can happen to a present person on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Retirement,
    ActivityAdded,
    ActivityRemoved,
    ActivityMoved,
    AddressChanged,
    ProfessionChanged,
    MailboxAdded,
    MailboxRemoved,
    MailboxChanged,
}

/// The kinds forced every day, in the order a person is offered them.
const FORCED: [EventKind; 9] = [
    EventKind::Retirement,
    EventKind::ActivityAdded,
    EventKind::ActivityRemoved,
    EventKind::ActivityMoved,
    EventKind::AddressChanged,
    EventKind::ProfessionChanged,
    EventKind::MailboxAdded,
    EventKind::MailboxRemoved,
    EventKind::MailboxChanged,
];

/// The families the rates are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Retirement,
    Activity,
    Address,
    Profession,
    Mailbox,
}

/// A person the schedule can change: implemented by the RPPS generator on one person's state.
pub(crate) trait Evolving {
    /// Whether an event of this category can happen to the person as they are now.
    fn applies(&self, category: Category) -> bool;
    /// The precise kind of a random event of an applicable category.
    fn choose(&self, category: Category, rng: &mut GenRng) -> EventKind;
    /// Applies the event on `day`; false, with the person unchanged, if it cannot apply.
    fn apply(&mut self, kind: EventKind, day: u32, rng: &mut GenRng) -> bool;
}

/// What the days did to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fate {
    /// At least one event changed the person after their arrival.
    pub changed: bool,
    /// The person retired on or before the day generated.
    pub retired: bool,
}

/// Persons a forced or random event never touches: the showcases of the file quirks and the first
/// two persons (the first personal mailbox, the forced exercise authorisation), so that a small file
/// keeps every quirk on every day.
pub(crate) fn protected(index: u64) -> bool {
    index < 2 || super::showcase::is_showcase(index)
}

/// The event decisions of one generation (one day).
pub(crate) struct Schedule {
    seed: u64,
    persons: u64,
    day: u32,
    rates: DailyRates,
    /// `arrived[d]`: new persons arrived on days 2..=d+1 (cumulative), for d in 0..day.
    arrived: Vec<u64>,
    /// Per (day − 2, forced kind): the first person index the forced event may land on.
    starts: Vec<u64>,
    /// Per (day − 2, forced kind): whether a person already carries it.
    assigned: Vec<bool>,
    events: DayEvents,
}

impl Schedule {
    /// The schedule of `day` (1-based) for `persons` initial persons.
    pub(crate) fn new(seed: u64, persons: u64, day: u32, rates: DailyRates) -> Schedule {
        let mut arrived = Vec::with_capacity(day as usize);
        let mut total = 0;
        arrived.push(0);
        for d in 2..=day {
            total += new_persons_on(seed, persons, &rates, d);
            arrived.push(total);
        }
        let later_days = day.saturating_sub(1) as usize;
        // Start scanning in the first half of the initial persons, so that in a small file a
        // person the event applies to always comes after the start.
        let span = (persons / 2).max(1);
        let starts = (0..later_days * FORCED.len())
            .map(|slot| 2 + mix(seed, domain::FORCED_EVENT, slot as u64) % span)
            .collect();
        let mut events = DayEvents::default();
        if day >= 2 {
            events.new_persons = arrived[later_days] - arrived[later_days - 1];
        }
        Schedule {
            seed,
            persons,
            day,
            rates,
            arrived,
            starts,
            assigned: vec![false; later_days * FORCED.len()],
            events,
        }
    }

    /// Persons generated: the initial ones and every new person up to the day.
    pub(crate) fn total_persons(&self) -> u64 {
        self.persons + self.arrived.last().copied().unwrap_or(0)
    }

    /// The day person `index` appears on (1 for the initial persons).
    pub(crate) fn arrival(&self, index: u64) -> u32 {
        if index < self.persons {
            return 1;
        }
        let rank = index - self.persons;
        // First d (0-based) with arrived[d] > rank, i.e. day d + 1.
        let d = self.arrived.partition_point(|&n| n <= rank);
        u32::try_from(d + 1).unwrap_or(u32::MAX)
    }

    /// The events of the day generated.
    pub(crate) fn events(&self) -> DayEvents {
        self.events
    }

    /// Applies to one person, freshly generated as on their arrival day, the events of every later
    /// day up to the day generated, and counts those of the day generated.
    ///
    /// Each day, the person first gets a forced kind if one is still unassigned for that day, its
    /// scan has reached them (index ≥ the kind's start for the day), and it applies to them: forced
    /// events land on the first such person from a start drawn per (day, kind), one kind per person
    /// and day, never on a retired or protected person. Otherwise a hash of (seed, index, day)
    /// chooses at most one random event among the applicable categories, each with its rate.
    pub(crate) fn evolve(&mut self, index: u64, person: &mut impl Evolving) -> Fate {
        let mut fate = Fate::default();
        if protected(index) {
            return fate;
        }
        for day in self.arrival(index) + 1..=self.day {
            let Some(kind) = self.forced(index, day, person).or_else(|| {
                let category = self.random_category(index, day, person)?;
                let mut rng = event_rng(self.seed, index, day, 0);
                let kind = person.choose(category, &mut rng);
                person.apply(kind, day, &mut rng).then_some(kind)
            }) else {
                continue;
            };
            fate.changed = true;
            if day == self.day {
                self.events.count(kind);
            }
            if kind == EventKind::Retirement {
                fate.retired = true;
                break;
            }
        }
        fate
    }

    /// The forced kind the person carries on `day`, applied, if any.
    fn forced(&mut self, index: u64, day: u32, person: &mut impl Evolving) -> Option<EventKind> {
        let base = (day as usize - 2) * FORCED.len();
        for (k, kind) in FORCED.into_iter().enumerate() {
            let slot = base + k;
            if self.assigned[slot] || index < self.starts[slot] {
                continue;
            }
            let mut rng = event_rng(self.seed, index, day, 1 + k as u64);
            if person.apply(kind, day, &mut rng) {
                self.assigned[slot] = true;
                return Some(kind);
            }
        }
        None
    }

    /// The category of the person's random event on `day`, if any: each applicable category owns a
    /// band of `rate` parts per million of a uniform draw.
    fn random_category(&self, index: u64, day: u32, person: &impl Evolving) -> Option<Category> {
        let draw = mix(self.seed, domain::DAY_EVENT, event_key(index, day)) % PPM;
        let rates = &self.rates;
        let mut bound = 0u64;
        for (category, rate) in [
            (Category::Retirement, rates.retirement_ppm),
            (Category::Activity, rates.activity_ppm),
            (Category::Address, rates.address_ppm),
            (Category::Profession, rates.profession_ppm),
            (Category::Mailbox, rates.mailbox_ppm),
        ] {
            if rate == 0 || !person.applies(category) {
                continue;
            }
            bound += u64::from(rate);
            if draw < bound {
                return Some(category);
            }
        }
        None
    }
}

/// New persons appearing on `day` (≥ 2): `persons × new_persons_ppm / 10⁶`, the fractional part
/// rounded up or down by a draw of the day, at least one (the forced new person).
pub(crate) fn new_persons_on(seed: u64, persons: u64, rates: &DailyRates, day: u32) -> u64 {
    let expected = u128::from(persons) * u128::from(rates.new_persons_ppm);
    let whole = u64::try_from(expected / u128::from(PPM)).unwrap_or(u64::MAX);
    let fraction = u64::try_from(expected % u128::from(PPM)).unwrap_or(0);
    let extra = mix(seed, domain::NEW_PERSONS, u64::from(day)) % PPM < fraction;
    (whole + u64::from(extra)).max(1)
}

/// The key of (person, day) in the event domains.
fn event_key(index: u64, day: u32) -> u64 {
    splitmix64(index) ^ u64::from(day).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The stream of the details of one event (`attempt` 0 for the random event, 1 + k for forced kind k).
fn event_rng(seed: u64, index: u64, day: u32, attempt: u64) -> GenRng {
    derived_rng(
        seed,
        domain::DAY_EVENT_DETAIL,
        event_key(index, day) ^ splitmix64(attempt),
    )
}
