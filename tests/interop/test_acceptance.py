"""Directory search acceptance list, modelled on what provider-directory test kits ask of a server:
a search by every declared parameter of every type, forward chains, reverse chains, _include
(including `PractitionerRole:*`) and _revinclude. Each expected result is computed from the
generated extraction files by extractions.py (which shares nothing with the server), and compared
with what the server returns over every page: the set of matched ids, Bundle.total, the included
ids. Every request is sent with `Prefer: handling=strict`, so a parameter the server does not
understand is an error, not a silently wider result."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import pytest

import extractions
from extractions import J83, fold, starts

G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
R48 = "https://mos.esante.gouv.fr/NOS/TRE_R48-DiplomeEtatFrancais/FHIR/TRE-R48-DiplomeEtatFrancais"
R23 = "https://mos.esante.gouv.fr/NOS/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice"
R66 = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
T0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
RPPS = "https://rpps.esante.gouv.fr"
FINESS = "https://finess.esante.gouv.fr"
R272 = "https://mos.esante.gouv.fr/NOS/TRE_R272-EquipementMaterielLourd/FHIR/TRE-R272-EquipementMaterielLourd"
R274 = "https://mos.esante.gouv.fr/NOS/TRE_R274-ActiviteSanitaireRegulee/FHIR/TRE-R274-ActiviteSanitaireRegulee"
R209 = "https://mos.esante.gouv.fr/NOS/TRE_R209-TypeActivite/FHIR/TRE-R209-TypeActivite"
ARHGOS = "https://arhgos.ars.sante.fr"
SCANNER, MRI = "05602", "05701"
DECLARED = os.path.join(os.path.dirname(__file__), "..", "..", "conformance", "search-parameters.json")


@dataclass
class Expect:
    params: list[tuple[str, str]]
    matches: set[str]
    includes: set[str] | None = None  # "Type/id" of search.mode=include entries, when checked
    note: str = ""


@dataclass
class Case:
    name: str
    rtype: str
    build: Callable[[extractions.Extractions], Expect]
    covers: list[str] = field(default_factory=list)  # declared parameter codes exercised


# --- samples -------------------------------------------------------------------------------------
def _letters_prefix(value: str, n: int = 3) -> str:
    p = value[:n]
    assert p.isalpha() and len(p) == n, value
    return p


def sample_practitioner(ext):
    """An RPPS-identified practitioner with at least two roles, one at an establishment."""
    counts = Counter(r.practitioner for r in ext.roles.values())
    return next(ext.practitioners[pid] for pid, n in sorted(counts.items())
                if n >= 2 and ext.practitioners[pid].id_type == "8" and ext.practitioners[pid].family[:3].isalpha()
                and any(r.organization and r.organization.startswith("eg-")
                        for r in ext.roles.values() if r.practitioner == pid))


def sample_establishment(ext):
    """A FINESS establishment with roles, a legal entity, a city shared by few others."""
    with_roles = Counter(r.organization for r in ext.roles.values() if r.organization)
    return next(o for o in sorted(ext.orgs.values(), key=lambda o: o.id)
                if o.system == "FINESS" and o.id.startswith("eg-") and with_roles[o.id] >= 2 and o.part_of
                and o.city and o.city[:3].isalpha() and o.lines and o.insee and o.categetab)


def sample_role(ext):
    p = sample_practitioner(ext)
    return next(r for r in sorted(ext.roles.values(), key=lambda r: r.id)
                if r.practitioner == p.id and r.organization and r.organization.startswith("eg-"))


def pids(ext, pred):
    return {p.id for p in ext.practitioners.values() if pred(p)}


def rids(ext, pred):
    return {r.id for r in ext.roles.values() if pred(r)}


def oids(ext, pred):
    return {o.id for o in ext.orgs.values() if pred(o)}


def authority(row, token):
    parts = row["Autorité d'enregistrement"].split("/")
    code = parts[token] if len(parts) > token else ""
    return code if code in J83 else None


def first_authority(rows, token):
    """The registration authority of a Practitioner or PractitionerRole built from several rows:
    that of its first row."""
    return authority(rows[0], token) if rows else None


STRUCTURE_COLUMNS = [
    "Numéro SIRET site", "Numéro SIREN site", "Numéro FINESS site", "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure", "Raison sociale site", "Enseigne commerciale site",
    "Complément destinataire (coord. structure)", "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)", "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)", "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)", "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)", "Code commune (coord. structure)", "Libellé commune (coord. structure)",
    "Code pays (coord. structure)", "Téléphone (coord. structure)", "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)", "Adresse e-mail (coord. structure)", "Code Département (structure)",
    "Ancien identifiant de la structure", "Code secteur d'activité",
]


def structure_authority(rows):
    """The registration authority of an RPPS structure: from its representative row, the most
    frequent version of its structure columns and registrant (token 3), the first one on a tie
    (docs/mapping.md A21)."""
    if not rows:
        return None
    variants = [tuple(r[c] for c in STRUCTURE_COLUMNS) + (authority(r, 2),) for r in rows]
    counts = Counter(variants)
    best = max(counts.values())
    return next(v for v in variants if counts[v] == best)[-1]


def role_mailboxes(ext):
    """address -> role ids, for personal mailboxes whose structure is one of the person's activities'
    (README: "A personal mailbox whose structure ... is that of the activity is also on the role";
    the person's activities in any profession, not only the mailbox's)."""
    out = {}
    for m in ext.first_mailboxes("PER"):
        pr = set(ext.by_person.get(m["Identification nationale PP"], []))
        kind, number = m["Type identifiant structure"], m["Identification Structure"]
        if not kind or not number:
            continue
        hit = set()
        for r in ext.roles.values():
            if r.practitioner not in pr:
                continue
            row = r.rows[0]
            if (kind == "1" and row["Numéro FINESS site"] == number) or \
               (kind == "3" and row["Numéro SIRET site"] == number) or \
               (row["Ancien identifiant de la structure"] == kind + number):
                hit.add(r.id)
        if hit:
            out[m["Adresse BAL"]] = hit
    return out


# --- the list --------------------------------------------------------------------------------------
CASES: list[Case] = []


def case(name, rtype, *covers):
    def register(fn):
        CASES.append(Case(name, rtype, fn, list(covers)))
        return fn
    return register


# Practitioner
@case("Practitioner by _id", "Practitioner", "_id")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("_id", p.id)], {p.id})


@case("Practitioner by RPPS identifier system|value", "Practitioner", "identifier")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("identifier", f"{RPPS}|{p.rpps}")], pids(ext, lambda q: q.rpps == p.rpps and q.id_type == "8"))


@case("Practitioner by IDNPS value only", "Practitioner", "identifier")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("identifier", p.idnps)], set(ext.by_person[p.idnps]))


@case("Practitioner by identifier-type ADELI", "Practitioner", "identifier-type")
def _(ext):
    return Expect([("identifier-type", f"{T0203}|ADELI")], pids(ext, lambda p: p.id_type == "0"))


@case("Practitioner by identifier-type RPPS", "Practitioner", "identifier-type")
def _(ext):
    return Expect([("identifier-type", "RPPS")], pids(ext, lambda p: p.id_type == "8"))


@case("Practitioner by family (prefix, folded)", "Practitioner", "family")
def _(ext):
    prefix = fold(_letters_prefix(sample_practitioner(ext).family)).upper()
    return Expect([("family", prefix.lower())], pids(ext, lambda p: starts(p.family, prefix)))


@case("Practitioner by family:exact", "Practitioner", "family")
def _(ext):
    fam = sample_practitioner(ext).family
    return Expect([("family:exact", fam)], pids(ext, lambda p: p.family == fam))


@case("Practitioner by given", "Practitioner", "given")
def _(ext):
    given = sample_practitioner(ext).given
    return Expect([("given", given[:3])], pids(ext, lambda p: starts(p.given, given[:3])))


@case("Practitioner by name (family or given)", "Practitioner", "name")
def _(ext):
    prefix = _letters_prefix(sample_practitioner(ext).family)
    return Expect([("name", prefix)], pids(ext, lambda p: any(starts(v, prefix) for v in
                                                              (p.family, p.given, p.prefix, p.suffix))))


@case("Practitioner by profession (qualification-code G15)", "Practitioner", "qualification-code")
def _(ext):
    return Expect([("qualification-code", f"{G15}|60")], pids(ext, lambda p: p.profession == "60"))


@case("Practitioner by diploma (qualification-code R48)", "Practitioner", "qualification-code")
def _(ext):
    code = Counter(d["Code diplôme obtenu"] for d in ext.diplomas
                   if d["Code type diplôme obtenu"] == "DE" and d["Code diplôme obtenu"]).most_common()[-1][0]
    return Expect([("qualification-code", f"{R48}|{code}")], pids(ext, lambda p: code in p.diplomas))


@case("Practitioner by mailbox-mss:exact", "Practitioner", "mailbox-mss")
def _(ext):
    m = next(m for m in ext.first_mailboxes("PER") if ext.practitioners_of_mailbox(m))
    return Expect([("mailbox-mss:exact", m["Adresse BAL"])], ext.practitioners_of_mailbox(m))


@case("Practitioner by mailbox-mss-type PER", "Practitioner", "mailbox-mss-type")
def _(ext):
    want = set().union(*(ext.practitioners_of_mailbox(m) for m in ext.first_mailboxes("PER")))
    return Expect([("mailbox-mss-type", "PER")], want)


@case("Practitioner by active", "Practitioner", "active")
def _(ext):
    return Expect([("active", "true")], set(ext.practitioners))


@case("Practitioner by active=false", "Practitioner", "active")
def _(ext):
    return Expect([("active", "false")], set())


@case("Practitioner by _lastUpdated", "Practitioner", "_lastUpdated")
def _(ext):
    return Expect([("_lastUpdated", "gt2000-01-01"), ("_lastUpdated", "lt2999")], set(ext.practitioners))


@case("Practitioner by data-information-system", "Practitioner", "data-information-system")
def _(ext):
    return Expect([("data-information-system", "RPPS")], set(ext.practitioners))


@case("Practitioner by data-registration-authority", "Practitioner", "data-registration-authority")
def _(ext):
    return Expect([("data-registration-authority", "CNOM")],
                  pids(ext, lambda p: first_authority(p.rows, 0) == "CNOM"))


@case("Practitioner by _has:PractitionerRole:practitioner:role", "Practitioner", "role")
def _(ext):
    return Expect([("_has:PractitionerRole:practitioner:role", "FON-05")],
                  {r.practitioner for r in ext.roles.values() if "FON-05" in r.codes})


@case("Practitioner _revinclude=PractitionerRole:practitioner", "Practitioner", "practitioner")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("_id", p.id), ("_revinclude", "PractitionerRole:practitioner")], {p.id},
                  {f"PractitionerRole/{r}" for r in rids(ext, lambda r: r.practitioner == p.id)})


# PractitionerRole
@case("PractitionerRole by _id", "PractitionerRole", "_id")
def _(ext):
    r = sample_role(ext)
    return Expect([("_id", r.id)], {r.id})


@case("PractitionerRole by identifier (idSituationExercice)", "PractitionerRole", "identifier")
def _(ext):
    r = sample_role(ext)
    return Expect([("identifier", f"{RPPS}|{r.se}")], {r.id})


@case("PractitionerRole by practitioner (Type/id)", "PractitionerRole", "practitioner")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("practitioner", f"Practitioner/{p.id}")], rids(ext, lambda r: r.practitioner == p.id))


@case("PractitionerRole by practitioner (id)", "PractitionerRole", "practitioner")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("practitioner", p.id)], rids(ext, lambda r: r.practitioner == p.id))


@case("PractitionerRole by organization", "PractitionerRole", "organization")
def _(ext):
    o = sample_establishment(ext)
    return Expect([("organization", f"Organization/{o.id}")], rids(ext, lambda r: r.organization == o.id))


@case("PractitionerRole by role (code)", "PractitionerRole", "role")
def _(ext):
    return Expect([("role", "FON-01")], rids(ext, lambda r: "FON-01" in r.codes))


@case("PractitionerRole by role (system|code, mode d'exercice)", "PractitionerRole", "role")
def _(ext):
    return Expect([("role", f"{R23}|S")], rids(ext, lambda r: r.rows[0]["Code mode exercice"] == "S"))


@case("PractitionerRole by active", "PractitionerRole", "active")
def _(ext):
    return Expect([("active", "true")], set(ext.roles))


@case("PractitionerRole by _lastUpdated", "PractitionerRole", "_lastUpdated")
def _(ext):
    return Expect([("_lastUpdated", "lt2000-01-01")], set())


@case("PractitionerRole by data-information-system", "PractitionerRole", "data-information-system")
def _(ext):
    return Expect([("data-information-system", "RPPS")], set(ext.roles))


@case("PractitionerRole by data-registration-authority", "PractitionerRole", "data-registration-authority")
def _(ext):
    return Expect([("data-registration-authority", "ONI")], rids(ext, lambda r: first_authority(r.rows, 1) == "ONI"))


@case("PractitionerRole by mailbox-mss:exact", "PractitionerRole", "mailbox-mss")
def _(ext):
    address, roles = sorted(role_mailboxes(ext).items())[0]
    return Expect([("mailbox-mss:exact", address)], roles)


@case("PractitionerRole by mailbox-mss-type PER", "PractitionerRole", "mailbox-mss-type")
def _(ext):
    return Expect([("mailbox-mss-type", "PER")], set().union(*role_mailboxes(ext).values()))


@case("PractitionerRole chain organization.name", "PractitionerRole", "organization", "name")
def _(ext):
    prefix = sample_establishment(ext).names[0][:5]
    orgs = oids(ext, lambda o: any(starts(n, prefix) for n in o.names))
    return Expect([("organization.name", prefix)], rids(ext, lambda r: r.organization in orgs))


@case("PractitionerRole chain organization.address-city", "PractitionerRole", "organization", "address-city")
def _(ext):
    city = sample_establishment(ext).city
    orgs = oids(ext, lambda o: starts(o.city, city))
    return Expect([("organization.address-city", city)], rids(ext, lambda r: r.organization in orgs))


@case("PractitionerRole chain practitioner.identifier", "PractitionerRole", "practitioner", "identifier")
def _(ext):
    p = sample_practitioner(ext)
    return Expect([("practitioner.identifier", f"{RPPS}|{p.rpps}")],
                  rids(ext, lambda r: ext.practitioners[r.practitioner].rpps == p.rpps
                       and ext.practitioners[r.practitioner].id_type == "8"))


@case("PractitionerRole chain practitioner.family", "PractitionerRole", "practitioner", "family")
def _(ext):
    prefix = _letters_prefix(sample_practitioner(ext).family)
    return Expect([("practitioner.family", prefix)],
                  rids(ext, lambda r: starts(ext.practitioners[r.practitioner].family, prefix)))


@case("PractitionerRole _include=PractitionerRole:*", "PractitionerRole", "practitioner", "organization")
def _(ext):
    r = sample_role(ext)
    return Expect([("_id", r.id), ("_include", "PractitionerRole:*")], {r.id},
                  {f"Practitioner/{r.practitioner}", f"Organization/{r.organization}"})


@case("PractitionerRole _include=PractitionerRole:organization + :iterate Organization:partof",
      "PractitionerRole", "organization", "partof")
def _(ext):
    p = sample_practitioner(ext)
    roles = rids(ext, lambda r: r.practitioner == p.id)
    orgs = {ext.roles[r].organization for r in roles} - {None}
    parents = {ext.orgs[o].part_of for o in orgs} - {None}
    return Expect([("practitioner", p.id), ("_include", "PractitionerRole:organization"),
                   ("_include:iterate", "Organization:partof")], roles,
                  {f"Organization/{o}" for o in orgs | parents})


# Organization
@case("Organization by _id", "Organization", "_id")
def _(ext):
    o = sample_establishment(ext)
    return Expect([("_id", o.id)], {o.id})


@case("Organization by FINESS identifier", "Organization", "identifier")
def _(ext):
    o = sample_establishment(ext)
    n = next(iter(o.identifiers["FINEG"]))
    return Expect([("identifier", f"{FINESS}|{n}")], oids(ext, lambda x: n in x.identifiers["FINEG"] | x.identifiers["FINEJ"]))


@case("Organization by SIRET value", "Organization", "identifier")
def _(ext):
    siret = next(s for o in sorted(ext.orgs.values(), key=lambda o: o.id) for s in sorted(o.identifiers["SIRET"]))
    return Expect([("identifier", siret)], oids(ext, lambda x: siret in x.identifiers["SIRET"]))


@case("Organization by identifier-type FINEJ", "Organization", "identifier-type")
def _(ext):
    return Expect([("identifier-type", "FINEJ")], oids(ext, lambda o: bool(o.identifiers["FINEJ"])))


@case("Organization by identifier-type FINEG", "Organization", "identifier-type")
def _(ext):
    return Expect([("identifier-type", f"{T0203}|FINEG")], oids(ext, lambda o: bool(o.identifiers["FINEG"])))


@case("Organization by name (name or alias)", "Organization", "name")
def _(ext):
    prefix = sample_establishment(ext).names[0][:5]
    return Expect([("name", prefix)], oids(ext, lambda o: any(starts(n, prefix) for n in o.names)))


@case("Organization by address (any part)", "Organization", "address")
def _(ext):
    city = sample_establishment(ext).city
    return Expect([("address", city)], oids(ext, lambda o: any(
        starts(v, city) for v in [o.city, o.postal, o.district, *o.lines])))


@case("Organization by address-city", "Organization", "address-city")
def _(ext):
    city = sample_establishment(ext).city
    return Expect([("address-city", city)], oids(ext, lambda o: starts(o.city, city)))


@case("Organization by address-postalcode", "Organization", "address-postalcode")
def _(ext):
    postal = sample_establishment(ext).postal
    return Expect([("address-postalcode", postal[:2])], oids(ext, lambda o: starts(o.postal, postal[:2])))


@case("Organization by address-line", "Organization", "address-line")
def _(ext):
    line = sample_establishment(ext).lines[0]
    return Expect([("address-line", line)], oids(ext, lambda o: any(starts(l, line) for l in o.lines)))


@case("Organization by address-insee", "Organization", "address-insee")
def _(ext):
    insee = sample_establishment(ext).insee
    return Expect([("address-insee", insee)], oids(ext, lambda o: starts(o.insee, insee)))


@case("Organization by type (FINESS category)", "Organization", "type")
def _(ext):
    cat = sample_establishment(ext).categetab
    return Expect([("type", f"{R66}|{cat}")], oids(ext, lambda o: o.categetab == cat))


@case("Organization by partof", "Organization", "partof")
def _(ext):
    parent = sample_establishment(ext).part_of
    return Expect([("partof", f"Organization/{parent}")], oids(ext, lambda o: o.part_of == parent))


@case("Organization by mailbox-mss:exact (FINESS-identified mailbox)", "Organization", "mailbox-mss")
def _(ext):
    m = next(m for m in ext.first_mailboxes("ORG") if m["Type identifiant structure"] == "1"
             and f"eg-{m['Identification Structure']}" in ext.orgs)
    return Expect([("mailbox-mss:exact", m["Adresse BAL"])], {f"eg-{m['Identification Structure']}"})


@case("Organization by mailbox-mss-type ORG", "Organization", "mailbox-mss-type")
def _(ext):
    return Expect([("mailbox-mss-type", "ORG")], set().union(*(ext.orgs_of_mailbox(m) for m in ext.first_mailboxes("ORG"))))


@case("Organization by data-registration-authority", "Organization", "data-registration-authority")
def _(ext):
    return Expect([("data-registration-authority", "CNOM")],
                  oids(ext, lambda o: structure_authority(o.rows) == "CNOM"))


@case("Organization by pharmacy-licence:missing", "Organization", "pharmacy-licence")
def _(ext):
    # no source file carries a licence number (README "Mapping summary")
    return Expect([("pharmacy-licence:missing", "true")], set(ext.orgs))


@case("Organization by active", "Organization", "active")
def _(ext):
    return Expect([("active", "true")], set(ext.orgs))


@case("Organization by _lastUpdated", "Organization", "_lastUpdated")
def _(ext):
    return Expect([("_lastUpdated", "ge2000")], set(ext.orgs))


@case("Organization by data-information-system FINESS", "Organization", "data-information-system")
def _(ext):
    return Expect([("data-information-system", "FINESS")], oids(ext, lambda o: o.system == "FINESS"))


@case("Organization _revinclude=PractitionerRole:organization and Organization:partof", "Organization",
      "organization", "partof")
def _(ext):
    parent = sample_establishment(ext).part_of
    children = oids(ext, lambda o: o.part_of == parent)
    return Expect([("_id", parent), ("_revinclude", "Organization:partof"),
                   ("_revinclude", "PractitionerRole:organization")], {parent},
                  {f"Organization/{c}" for c in children}
                  | {f"PractitionerRole/{r}" for r in rids(ext, lambda r: r.organization == parent)})


@case("Organization _revinclude=PractitionerRole:*", "Organization", "organization")
def _(ext):
    o = sample_establishment(ext)
    return Expect([("_id", o.id), ("_revinclude", "PractitionerRole:*")], {o.id},
                  {f"PractitionerRole/{r}" for r in rids(ext, lambda r: r.organization == o.id)})


# Legal entities from their file (docs/mapping.md §5)
def sample_legal_entity(ext):
    """A legal entity of the file that owns establishments, has a SIREN and a city."""
    owners = Counter(o.part_of for o in ext.orgs.values() if o.part_of)
    return next(ext.orgs[i] for i in sorted(ext.legal_entity_ids)
                if owners[i] >= 1 and ext.orgs[i].identifiers["SIREN"] and ext.orgs[i].city)


@case("Organization by SIREN of a legal entity", "Organization", "identifier")
def _(ext):
    siren = next(iter(sample_legal_entity(ext).identifiers["SIREN"]))
    return Expect([("identifier", f"https://sirene.fr|{siren}")],
                  oids(ext, lambda o: siren in o.identifiers["SIREN"]))


@case("Organization by name of a legal entity", "Organization", "name")
def _(ext):
    prefix = sample_legal_entity(ext).names[0][:6]
    return Expect([("name", prefix)], oids(ext, lambda o: any(starts(n, prefix) for n in o.names)))


@case("Organization by partof of a legal entity from the file, with it included", "Organization", "partof")
def _(ext):
    ej = sample_legal_entity(ext)
    return Expect([("partof", ej.id), ("_include", "Organization:partof")],
                  oids(ext, lambda o: o.part_of == ej.id), {f"Organization/{ej.id}"})


# HealthcareService (docs/mapping.md §5b) and Device (§5c)
def sample_site_with_services(ext):
    """A FINESS establishment providing at least two HealthcareServices, with a city."""
    counts = Counter(s.organization for s in ext.services.values())
    return next(ext.orgs[o] for o, n in sorted(counts.items()) if n >= 2 and ext.orgs[o].city
                and ext.orgs[o].postal)


def sample_site_with_devices(ext):
    counts = Counter(d.organization for d in ext.devices.values())
    return next(ext.orgs[o] for o, n in sorted(counts.items()) if n >= 2 and ext.orgs[o].postal)


def hsids(ext, pred):
    return {s.id for s in ext.services.values() if pred(s)}


def dids(ext, pred):
    return {d.id for d in ext.devices.values() if pred(d)}


@case("HealthcareService by _id", "HealthcareService", "_id")
def _(ext):
    sid = sorted(ext.services)[0]
    return Expect([("_id", sid)], {sid})


@case("HealthcareService by organization (providedBy)", "HealthcareService", "organization")
def _(ext):
    o = sample_site_with_services(ext)
    return Expect([("organization", f"Organization/{o.id}")], hsids(ext, lambda s: s.organization == o.id))


@case("HealthcareService by service-type: emergency units (TRE_R274 07)", "HealthcareService", "service-type")
def _(ext):
    return Expect([("service-type", f"{R274}|07")], hsids(ext, lambda s: s.kind == "activity" and s.type == "07"))


@case("HealthcareService by service-type code only (activity or discipline)", "HealthcareService", "service-type")
def _(ext):
    return Expect([("service-type", "924")], hsids(ext, lambda s: s.type == "924"))


@case("HealthcareService by service-category (modality)", "HealthcareService", "service-category")
def _(ext):
    return Expect([("service-category", "15")], hsids(ext, lambda s: s.category == "15"))


@case("HealthcareService by characteristic: day care (TRE_R209 21)", "HealthcareService", "characteristic")
def _(ext):
    return Expect([("characteristic", f"{R209}|21")], hsids(ext, lambda s: s.kind == "social" and s.characteristic == "21"))


@case("HealthcareService by active=false (installation deleted)", "HealthcareService", "active")
def _(ext):
    return Expect([("active", "false")], hsids(ext, lambda s: not s.active))


@case("HealthcareService by identifier: never filled (no identifier in the files)", "HealthcareService", "identifier")
def _(ext):
    return Expect([("identifier", f"{ARHGOS}|84-82-48769")], set())


@case("HealthcareService by _lastUpdated", "HealthcareService", "_lastUpdated")
def _(ext):
    return Expect([("_lastUpdated", "ge2000")], set(ext.services))


@case("HealthcareService by data-information-system FINESS", "HealthcareService", "data-information-system")
def _(ext):
    return Expect([("data-information-system", "FINESS")], set(ext.services))


@case("HealthcareService by data-registration-authority: FINESS data carries none", "HealthcareService",
      "data-registration-authority")
def _(ext):
    return Expect([("data-registration-authority", "CNOM")], set())


@case("HealthcareService by organization.address-city (chain)", "HealthcareService", "organization")
def _(ext):
    city = sample_site_with_services(ext).city
    return Expect([("organization.address-city", city)],
                  hsids(ext, lambda s: starts(ext.orgs[s.organization].city, city)))


@case("HealthcareService _include=HealthcareService:organization", "HealthcareService", "organization")
def _(ext):
    o = sample_site_with_services(ext)
    return Expect([("organization", o.id), ("_include", "HealthcareService:organization")],
                  hsids(ext, lambda s: s.organization == o.id), {f"Organization/{o.id}"})


# `_profile` (uri, every type): a canonical taken whole (`url|version`) or bare (every version);
# `eligibility` (annuaire's own parameter: the clientèle of a social equipment).
AS_SD = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/"
FR_CORE_SD = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
IG_VERSION = "1.2.0-snapshot-2"


@case("Practitioner by _profile as-dp-practitioner (ADELI persons claim fr-core only)", "Practitioner", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-dp-practitioner")], pids(ext, lambda p: p.id_type == "8"))


@case("PractitionerRole by _profile with its version", "PractitionerRole", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-dp-practitionerrole|{IG_VERSION}")], set(ext.roles))


@case("Organization by _profile fr-core-organization (every version)", "Organization", "_profile")
def _(ext):
    return Expect([("_profile", f"{FR_CORE_SD}fr-core-organization")], set(ext.orgs))


@case("HealthcareService by _profile: social equipment (as-dp, versioned)", "HealthcareService", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-dp-healthcareservice-social-equipment|{IG_VERSION}")],
                  hsids(ext, lambda s: s.kind == "social"))


@case("HealthcareService by _profile: healthcare activities (generic profile)", "HealthcareService", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-healthcareservice-healthcare-activity")],
                  hsids(ext, lambda s: s.kind == "activity"))


@case("HealthcareService by eligibility: the most frequent clientèle", "HealthcareService", "eligibility")
def _(ext):
    code = Counter(s.eligibility for s in ext.services.values() if s.eligibility).most_common(1)[0][0]
    return Expect([("eligibility", code)], hsids(ext, lambda s: s.eligibility == code))


@case("Device by _profile as-dp-device (an ARHGOS number) and as-device (none)", "Device", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-dp-device,{AS_SD}as-device|{IG_VERSION}")], set(ext.devices))


@case("Device by _profile as-dp-device: those with an ARHGOS number", "Device", "_profile")
def _(ext):
    return Expect([("_profile", f"{AS_SD}as-dp-device")], dids(ext, lambda d: bool(d.arhgos)))


@case("Device by _id", "Device", "_id")
def _(ext):
    did = sorted(ext.devices)[0]
    return Expect([("_id", did)], {did})


@case("Device by type: scanners (TRE_R272 05602)", "Device", "type")
def _(ext):
    return Expect([("type", f"{R272}|{SCANNER}")], dids(ext, lambda d: d.type == SCANNER))


@case("Device by organization (owner)", "Device", "organization")
def _(ext):
    o = sample_site_with_devices(ext)
    return Expect([("organization", o.id)], dids(ext, lambda d: d.organization == o.id))


@case("Device by ARHGOS identifier", "Device", "identifier")
def _(ext):
    d = next(d for d in sorted(ext.devices.values(), key=lambda d: d.id) if d.arhgos)
    return Expect([("identifier", f"{ARHGOS}|{d.arhgos}")], dids(ext, lambda x: x.arhgos == d.arhgos))


@case("Device by identifier:missing (no ARHGOS number: generic profile)", "Device", "identifier")
def _(ext):
    return Expect([("identifier:missing", "true")], dids(ext, lambda d: not d.arhgos))


@case("Device by status active", "Device", "status")
def _(ext):
    return Expect([("status", "active")], set(ext.devices))


@case("Device by manufacturer: never filled (no brand in the file)", "Device", "manufacturer")
def _(ext):
    return Expect([("manufacturer", "a")], set())


@case("Device by model: never filled (no model in the file)", "Device", "model")
def _(ext):
    return Expect([("model", "a")], set())


@case("Device by _lastUpdated", "Device", "_lastUpdated")
def _(ext):
    return Expect([("_lastUpdated", "ge2000")], set(ext.devices))


@case("Device by data-information-system FINESS", "Device", "data-information-system")
def _(ext):
    return Expect([("data-information-system", "FINESS")], set(ext.devices))


@case("Device by data-registration-authority: FINESS data carries none", "Device", "data-registration-authority")
def _(ext):
    return Expect([("data-registration-authority", "CNOM")], set())


@case("Device MRI near a place: type + organization.address-postalcode (chain)", "Device", "type", "organization")
def _(ext):
    dept = sample_site_with_devices(ext).postal[:2]
    return Expect([("type", MRI), ("organization.address-postalcode", dept)],
                  dids(ext, lambda d: d.type == MRI and starts(ext.orgs[d.organization].postal, dept)))


@case("Organization _revinclude=HealthcareService:organization and Device:organization", "Organization",
      "organization")
def _(ext):
    o = sample_site_with_devices(ext)
    return Expect([("_id", o.id), ("_revinclude", "HealthcareService:organization"),
                   ("_revinclude", "Device:organization")], {o.id},
                  {f"HealthcareService/{s}" for s in hsids(ext, lambda s: s.organization == o.id)}
                  | {f"Device/{d}" for d in dids(ext, lambda d: d.organization == o.id)})


@case("Organization by _has:Device:organization:type (sites with an MRI)", "Organization")
def _(ext):
    return Expect([("_has:Device:organization:type", MRI)],
                  {d.organization for d in ext.devices.values() if d.type == MRI})


# --- running a case --------------------------------------------------------------------------------
def run(base_url: str, rtype: str, params: list[tuple[str, str]], count: int = 100):
    """Every page of the search (strict handling): (match ids in order, total of page 1,
    included 'Type/id' set)."""
    import fhir_http
    url = f"{base_url}/{rtype}?" + urllib.parse.urlencode(params + [("_count", str(count))])
    ids, includes, total, first = [], set(), None, True
    while url:
        status, bundle = fhir_http.get(url, {"Prefer": "handling=strict"})
        assert status == 200, f"GET {url} -> {status}: {json.dumps(bundle)[:500]}"
        if first:
            total, first = bundle.get("total"), False
        for e in bundle.get("entry", []):
            mode = e.get("search", {}).get("mode")
            res = e["resource"]
            if mode == "match":
                assert res["resourceType"] == rtype
                ids.append(res["id"])
            elif mode == "include":
                includes.add(f"{res['resourceType']}/{res['id']}")
            else:
                raise AssertionError(f"{url}: unexpected entry mode {mode}: {json.dumps(e)[:300]}")
        url = fhir_http.next_link(bundle)
    return ids, total, includes


@pytest.fixture(scope="module")
def ext(extractions_dir):
    return extractions.load(extractions_dir)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_acceptance(base_url, ext, c: Case):
    want = c.build(ext)
    ids, total, includes = run(base_url, c.rtype, want.params)
    label = f"{c.rtype}?{urllib.parse.urlencode(want.params)}"
    assert len(ids) == len(set(ids)), f"{label}: a resource comes twice across pages"
    got = set(ids)
    assert got == want.matches, (f"{label}: {len(got)} matches, expected {len(want.matches)}; "
                                 f"missing {sorted(want.matches - got)[:5]}, unexpected {sorted(got - want.matches)[:5]}")
    assert total == len(want.matches), f"{label}: Bundle.total {total}, expected {len(want.matches)}"
    if want.includes is not None:
        assert includes == want.includes, (f"{label}: includes missing {sorted(want.includes - includes)[:5]}, "
                                           f"unexpected {sorted(includes - want.includes)[:5]}")


def test_acceptance_list_is_not_trivial(ext):
    """Most cases must expect a proper, non-empty subset, so that the list can tell a server that
    ignores parameters from one that applies them."""
    sizes = {"Practitioner": len(ext.practitioners), "PractitionerRole": len(ext.roles), "Organization": len(ext.orgs),
             "HealthcareService": len(ext.services), "Device": len(ext.devices)}
    proper = [c.name for c in CASES if 0 < len(c.build(ext).matches) < sizes[c.rtype]]
    assert len(proper) >= len(CASES) * 2 // 3, proper


def test_every_declared_parameter_is_searched():
    with open(DECLARED) as f:
        declared = {(b, p["code"]) for p in json.load(f) for b in p["base"]}
    covered = {(c.rtype, code) for c in CASES for code in c.covers}
    # chain and include cases cover the reference parameter of the searched type and the
    # parameter of the target: count only the searched type's own
    missing = sorted(d for d in declared if d not in covered)
    assert not missing, f"declared parameters without an acceptance case: {missing}"
