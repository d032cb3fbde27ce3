"""An independent reading of the generated extraction files, for the acceptance list.

It shares no code with the server: it reads the nine files by their published headers
(RPPS-family files are pipe-separated with a header line; the five FINESS extractions are
`;`-separated RFC-4180 with a manifest line and tagged records: `structureet` / `geolocalisation`,
`structureej`, `equipmateriellourd`, `equipementsocial`, `activiteoffresoin`, each line UTF-8 or
Windows-1252) and derives, from the mapping rules in README.md ("Resource ids", "Mapping
summary") and docs/mapping.md §5–§5c, which resources exist and what they should be found by.
Only what the acceptance queries need is modelled.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import os
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

# JDV_J83 (registration authorities the data-trace extension may carry).
J83 = {"CNOM", "CNOMK", "CNOP", "CNOPP", "CNOSF", "ONCD", "ONI", "ENREG", "SSA", "AT-975"} | {
    f"ARS-{n:02d}" for n in range(1, 95)
}


def fold(s: str) -> str:
    """Accent- and case-insensitive form used for string search expectations."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c)).casefold()


def starts(value: str | None, query: str) -> bool:
    return value is not None and fold(value).startswith(fold(query))


def res_id(prefix: str, business: str) -> str:
    rid = prefix + business
    if FHIR_ID.fullmatch(rid):
        return rid
    return prefix + "h" + hashlib.sha256(business.encode()).hexdigest()[:32]


def _read_pipe(path: str) -> list[dict[str, str]]:
    """A pipe-separated file with a header; a trailing `|` (an empty last field) is tolerated."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    header = [h.strip() for h in lines[0].split("|")]
    if header and header[-1] == "":
        header = header[:-1]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        values = line.split("|")
        if len(values) == len(header) + 1 and values[-1] == "":
            values = values[:-1]
        assert len(values) == len(header), f"{path}: {len(values)} fields, header has {len(header)}"
        rows.append(dict(zip(header, values)))
    return rows


def _read_tagged(path: str) -> dict[str, list[list[str]]]:
    """A FINESS extraction: its manifest, then records by tag. Each line is decoded as UTF-8, or
    as Windows-1252 when it is not UTF-8 (older extractions), as the importer does."""
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")
    def decode(line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            return line.decode("cp1252")
    lines = [decode(l).rstrip("\r") for l in raw if l.strip()]
    reader = csv.reader(lines, delimiter=";", quotechar='"')
    manifest = next(reader)
    assert manifest[0] == "finess", (path, manifest)
    out: dict[str, list[list[str]]] = defaultdict(list)
    for rec in reader:
        if rec:
            out[rec[0]].append(rec)
    return out


def _one(directory: str, pattern: str) -> str:
    found = glob.glob(os.path.join(directory, pattern))
    assert len(found) == 1, f"expected one {pattern} in {directory}, found {found}"
    return found[0]


@dataclass
class Org:
    id: str
    names: list[str] = field(default_factory=list)  # name first, then aliases
    city: str | None = None
    postal: str | None = None
    insee: str | None = None
    lines: list[str] = field(default_factory=list)
    district: str | None = None
    categetab: str | None = None
    part_of: str | None = None
    identifiers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # type -> values
    system: str = "RPPS"  # data-information-system
    rows: list = field(default_factory=list)  # RPPS rows of a structure built from RPPS


@dataclass
class Service:
    """A HealthcareService: a healthcare activity (`asr-`) or a social equipment (`ess-`)."""
    id: str
    kind: str  # "activity" or "social"
    organization: str  # the establishment's id (providedBy)
    type: str  # activity code (TRE_R274) or discipline (legacy R280)
    category: str | None  # modality (TRE_R275), activities only
    characteristic: str  # form (TRE_R276) or type d'activité (TRE_R209)
    active: bool
    eligibility: str | None = None  # clientèle (legacy R279), social equipment only


@dataclass
class Device:
    """A Device: one heavy equipment unit (`eml-`)."""
    id: str
    organization: str  # the establishment's id (owner)
    type: str  # TRE_R272
    arhgos: str  # ARHGOS authorisation number, "" when absent (generic profile)


@dataclass
class Role:
    id: str
    se: str
    practitioner: str
    organization: str | None
    codes: set[str]  # every code of PractitionerRole.code
    rows: list[dict[str, str]]


@dataclass
class Practitioner:
    id: str
    idnps: str
    rpps: str
    id_type: str  # "8" RPPS, "0" ADELI
    profession: str
    family: str
    given: str
    prefix: str
    suffix: str
    rows: list[dict[str, str]]
    diplomas: set[str] = field(default_factory=set)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _cog(dept: str, commune: str) -> str | None:
    if not dept or not commune:
        return None
    if dept[0] == "9" and dept[1] in "ABCDEF":
        return "97" + commune
    if dept == "9J":
        return "98" + commune
    return dept + commune


class Extractions:
    def __init__(self, directory: str):
        self.dir = directory
        self.rpps_rows = _read_pipe(_one(directory, "PS_LibreAcces_Personne_activite_*.txt"))
        self.savoir_faire = _read_pipe(_one(directory, "PS_LibreAcces_SavoirFaire_*.txt"))
        self.diplomas = _read_pipe(_one(directory, "PS_LibreAcces_Dipl_AutExerc_*.txt"))
        self.mailboxes = _read_pipe(_one(directory, "Extraction_Correspondance_MSSante_*.txt"))
        finess = _read_tagged(_one(directory, "etalab-cs1100507-stock-*.csv"))
        self.finess_et, self.finess_geo = finess["structureet"], finess["geolocalisation"]
        assert set(finess) <= {"structureet", "geolocalisation"}, set(finess)
        # The other four extractions, found by their tags (the importer never reads names). The
        # `structureet` lines heading the activity and equipment files are links, not records.
        self.legal_entities: list[list[str]] = []
        self.heavy_equipment: list[list[str]] = []
        self.social_equipment: list[list[str]] = []
        self.care_activities: list[list[str]] = []
        own = {"structureej": self.legal_entities, "equipmateriellourd": self.heavy_equipment,
               "equipementsocial": self.social_equipment, "activiteoffresoin": self.care_activities}
        for path in sorted(glob.glob(os.path.join(directory, "etalab-*.csv"))):
            records = _read_tagged(path)
            tags = set(records) - {"structureet"}
            if tags & set(own):
                (tag,) = tags
                own[tag].extend(records[tag])
        self._build()

    # ------------------------------------------------------------------------------------------
    def _build(self):
        self.practitioners: dict[str, Practitioner] = {}
        self.by_person: dict[str, list[str]] = defaultdict(list)  # IDNPS -> practitioner ids
        self.roles: dict[str, Role] = {}
        self.orgs: dict[str, Org] = {}

        for r in self.rpps_rows:
            idnps, prof = r["Identification nationale PP"], r["Code profession"]
            pid = res_id("pp-", f"{idnps}-{prof}")
            if pid not in self.practitioners:
                self.practitioners[pid] = Practitioner(
                    id=pid, idnps=idnps, rpps=r["Identifiant PP"], id_type=r["Type d'identifiant PP"],
                    profession=prof, family=r["Nom d'exercice"], given=r["Prénom d'exercice"],
                    prefix=r["Code civilité"], suffix=r["Code civilité d'exercice"], rows=[])
                self.by_person[idnps].append(pid)
            self.practitioners[pid].rows.append(r)

            activity = [r["Identifiant technique de la structure"], r["Code rôle"], r["Code mode exercice"],
                        r["Code genre activité"], r["Code section tableau pharmaciens"], r["Numéro FINESS site"]]
            if not any(activity):
                continue  # a person without activity
            se = "SE/" + "/".join([idnps, r["Identifiant technique de la structure"], r["Code rôle"],
                                   r["Code mode exercice"], r["Code genre activité"],
                                   r["Code section tableau pharmaciens"]])
            rid = "se-" + hashlib.sha256(se.encode()).hexdigest()[:32]
            finess_site, struct = r["Numéro FINESS site"], r["Identifiant technique de la structure"]
            org = res_id("eg-", finess_site) if finess_site else (res_id("st-", struct) if struct else None)
            if rid not in self.roles:
                codes = {r["Code rôle"], r["Code mode exercice"], r["Code genre activité"],
                         r["Code section tableau pharmaciens"]} - {""}
                self.roles[rid] = Role(rid, se, pid, org, codes, [])
            self.roles[rid].rows.append(r)

        # FINESS establishments
        for rec in self.finess_et:
            rec = rec + [""] * (32 - len(rec))
            nofinesset, nofinessej = rec[1], rec[2]
            oid = res_id("eg-", nofinesset)
            lac = rec[15]
            postal = lac[:5] if lac[:5].isdigit() else None
            o = Org(oid, system="FINESS")
            o.names = [rec[3]] + [a for a in (rec[4], rec[5]) if a and a != rec[3]]
            o.city = lac[5:].strip() if postal else (lac.strip() or None)
            o.postal = postal
            o.insee = _cog(rec[13], rec[12])
            o.district = (o.insee[:3] if o.insee and o.insee[:2] in ("97", "98") else (o.insee or "")[:2]) or None
            o.lines = [l for l in (rec[6], _join(rec[7], rec[10], rec[8], rec[9]), rec[11]) if l]
            o.categetab = rec[18] or None
            o.identifiers["FINEG"].add(nofinesset)
            o.identifiers["IDNST"].add("1" + nofinesset)
            if rec[22] and rec[22].isdigit():
                o.identifiers["SIRET"].add(rec[22])
            if nofinessej:
                o.part_of = res_id("ej-", nofinessej)
            self.orgs[oid] = o

        # RPPS structures: merged into an establishment, an establishment known only from RPPS, or st-
        for r in self.rpps_rows:
            finess_site, struct = r["Numéro FINESS site"], r["Identifiant technique de la structure"]
            if not finess_site and not struct:
                continue
            oid = res_id("eg-", finess_site) if finess_site else res_id("st-", struct)
            o = self.orgs.get(oid)
            if o is None:
                o = Org(oid, system="RPPS")
                o.names = [n for n in (r["Raison sociale site"],) if n]
                if r["Enseigne commerciale site"] and r["Enseigne commerciale site"] not in o.names:
                    o.names.append(r["Enseigne commerciale site"])
                cedex = r["Bureau cedex (coord. structure)"]
                m = re.match(r"^(\d{5})\s+(.*)$", cedex)
                o.city = (m.group(2) if m else None) or r["Libellé commune (coord. structure)"] or None
                o.postal = r["Code postal (coord. structure)"] or (cedex[:5] if cedex[:5].isdigit() else None)
                o.insee = r["Code commune (coord. structure)"] or None
                o.district = r["Code Département (structure)"] or None
                o.lines = [l for l in (r["Complément destinataire (coord. structure)"],
                                       r["Complément point géographique (coord. structure)"],
                                       _join(r["Numéro Voie (coord. structure)"],
                                             r["Indice répétition voie (coord. structure)"],
                                             r["Code type de voie (coord. structure)"],
                                             r["Libellé Voie (coord. structure)"]),
                                       r["Mention distribution (coord. structure)"]) if l]
                if finess_site:
                    o.identifiers["FINEG"].add(finess_site)
                    o.identifiers["IDNST"].add("1" + finess_site)
                    if r["Numéro FINESS établissement juridique"]:
                        o.part_of = res_id("ej-", r["Numéro FINESS établissement juridique"])
                if r["Numéro SIRET site"]:
                    o.identifiers["SIRET"].add(r["Numéro SIRET site"])
                self.orgs[oid] = o
            if o.system == "RPPS":
                o.rows.append(r)
            if struct:
                o.identifiers["RPPSRG"].add(struct)
            if r["Ancien identifiant de la structure"] and not finess_site:
                o.identifiers["IDNST"].add(r["Ancien identifiant de la structure"])

        # Legal entities of their file (docs/mapping.md §5), whether an establishment names them
        # or not; stubs below only for the others.
        for rec in self.legal_entities:
            rec = rec + [""] * (23 - len(rec))
            number = rec[1]
            o = Org(res_id("ej-", number), system="FINESS")
            name = rec[2] or rec[3]
            o.names = [name] + [a for i, a in enumerate((rec[3], rec[4]))
                                if a and a != name and a not in (rec[3], rec[4])[:i]]
            lac = rec[12]
            postal = lac[:5] if lac[:5].isdigit() else None
            o.city = lac[5:].strip() if postal else (lac.strip() or None)
            o.postal = postal
            o.insee = _cog(rec[13], rec[11])
            o.district = (o.insee[:3] if o.insee and o.insee[:2] in ("97", "98") else (o.insee or "")[:2]) or None
            o.lines = [l for l in (rec[9], _join(rec[5], rec[8], rec[6], rec[7]), rec[10]) if l]
            o.categetab = rec[18] or None
            o.identifiers["FINEJ"].add(number)
            o.identifiers["IDNST"].add("1" + number)
            if len(rec[20]) == 9 and rec[20].isdigit():
                o.identifiers["SIREN"].add(rec[20])
            self.orgs[o.id] = o
        self.legal_entity_ids = {res_id("ej-", rec[1]) for rec in self.legal_entities}

        # Legal-entity stubs for every partOf target
        for o in list(self.orgs.values()):
            if o.part_of and o.part_of not in self.orgs:
                ej = Org(o.part_of, system="FINESS")
                number = o.part_of[3:]
                ej.identifiers["FINEJ"].add(number)
                ej.identifiers["IDNST"].add("1" + number)
                self.orgs[o.part_of] = ej

        self._build_services_and_devices()

        for d in self.diplomas:
            for pid in self.by_person.get(d["Identification nationale PP"], []):
                if d["Code diplôme obtenu"]:
                    self.practitioners[pid].diplomas.add(d["Code diplôme obtenu"])

    def _build_services_and_devices(self):
        """HealthcareServices and Devices (docs/mapping.md §5b, §5c): a line whose establishment
        has no Organization is not imported (docs/mapping.md A32); the first line of a key wins."""
        self.services: dict[str, Service] = {}
        self.devices: dict[str, Device] = {}
        self.unplaced = 0
        for rec in self.care_activities:
            et, act, mod, form = rec[11], rec[3], rec[5], rec[7]
            org = res_id("eg-", et)
            if org not in self.orgs:
                self.unplaced += 1
                continue
            sid = res_id("asr-", f"{et}-{act}-{mod}-{form}")
            self.services.setdefault(sid, Service(sid, "activity", org, act, mod or None, form, True))
        for rec in self.social_equipment:
            rec = rec + [""] * (28 - len(rec))
            et, de, ta, client = rec[1], rec[2], rec[4], rec[6]
            org = res_id("eg-", et)
            if org not in self.orgs:
                self.unplaced += 1
                continue
            sid = res_id("ess-", f"{et}-{de}-{ta}-{client}")
            self.services.setdefault(
                sid, Service(sid, "social", org, de, None, ta, rec[15] != "O", client or None))
        for rec in self.heavy_equipment:
            et, eml, noautor, arhgos, implementation = rec[9], rec[3], rec[5], rec[6], rec[7]
            org = res_id("eg-", et)
            if org not in self.orgs:
                self.unplaced += 1
                continue
            key = f"EML/{et}/{eml}/{noautor}/{implementation}"
            did = "eml-" + hashlib.sha256(key.encode()).hexdigest()[:32]
            self.devices.setdefault(did, Device(did, org, eml, arhgos))

    # ------------------------------------------------------------------------------------------
    def practitioners_of_mailbox(self, row: dict[str, str]) -> set[str]:
        """The Practitioners a PER mailbox line goes to: the one of its profession, or all the
        person's when the profession is absent or not one of theirs."""
        person = self.by_person.get(row["Identification nationale PP"], [])
        own = [p for p in person if self.practitioners[p].profession == row["Code Profession"]]
        return set(own or person)

    def orgs_of_mailbox(self, row: dict[str, str]) -> set[str]:
        """The Organizations an ORG mailbox line goes to: by FINESS (type 1), SIRET (type 3) or
        national structure id (type + number)."""
        kind, number = row["Type identifiant structure"], row["Identification Structure"]
        out = set()
        for o in self.orgs.values():
            if (kind == "1" and number in o.identifiers["FINEG"] | o.identifiers["FINEJ"]) or \
               (kind == "3" and number in o.identifiers["SIRET"]) or (kind + number in o.identifiers["IDNST"]):
                out.add(o.id)
        return out

    def first_mailboxes(self, kind: str) -> list[dict[str, str]]:
        """Mailbox lines of a type (PER/ORG), the first line of each address only."""
        seen, out = set(), []
        for m in self.mailboxes:
            if m["Adresse BAL"] in seen:
                continue
            seen.add(m["Adresse BAL"])
            if m["Type de BAL"] == kind:
                out.append(m)
        return out


_CACHE: dict[str, Extractions] = {}


def load(directory: str) -> Extractions:
    if directory not in _CACHE:
        _CACHE[directory] = Extractions(directory)
    return _CACHE[directory]
