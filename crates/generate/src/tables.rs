//! Constant reference tables used by the generator.
//!
//! Codes and labels follow the NOS terminologies listed in annuaire's `docs/formats.md` (§3.3, §4.2
//! and §6). Where the published tables leave a value as unverified, the value here is a
//! plausible stand-in (noted in the doc comment of the table) — the importer must store codes, not
//! trust labels, so these stand-ins only affect realism, never parsing.
//!
//! Weights are relative integers (not percentages); they are turned into samplers by
//! [`super::random::Weighted`].

/// The 56-column header of `PS_LibreAcces_Personne_activite`, verbatim from docs/formats.md §3.3 (without the
/// trailing `|`, which the writer appends like on every row).
pub(crate) const RPPS_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|Code genre activité|Libellé genre activité";

/// Number of columns of [`RPPS_HEADER`].
pub(crate) const RPPS_COLUMNS: usize = 56;

/// A code with its label, as the extraction files always carry both side by side.
#[derive(Debug)]
pub(crate) struct Code {
    pub code: &'static str,
    pub label: &'static str,
}

const fn c(code: &'static str, label: &'static str) -> Code {
    Code { code, label }
}

// ---------------------------------------------------------------------------------------------
// Persons
// ---------------------------------------------------------------------------------------------

/// A TRE_G15 profession with the knobs that shape its rows.
#[derive(Debug)]
pub(crate) struct Profession {
    pub code: &'static str,
    pub label: &'static str,
    /// Relative frequency among RPPS-typed persons.
    pub weight: u32,
    /// Relative frequency among ADELI-typed persons (0 = never ADELI).
    pub adeli_weight: u32,
    /// Registration authority token (the ordre, or `ARS` for non-ordinal professions).
    pub ordre: &'static str,
    /// Share of women, in percent (drives first names and civilité).
    pub female_pct: u32,
    /// Share of activities in a libéral cabinet (the rest is salaried in an establishment), in percent.
    pub cabinet_pct: u32,
    /// Share of persons addressed as `DR` (civilité d'exercice), in percent.
    pub doctor_pct: u32,
}

#[allow(clippy::too_many_arguments)]
const fn prof(
    code: &'static str,
    label: &'static str,
    weight: u32,
    adeli_weight: u32,
    ordre: &'static str,
    female_pct: u32,
    cabinet_pct: u32,
    doctor_pct: u32,
) -> Profession {
    Profession {
        code,
        label,
        weight,
        adeli_weight,
        ordre,
        female_pct,
        cabinet_pct,
        doctor_pct,
    }
}

/// Code of the profession whose persons carry médecin savoir-faire.
pub(crate) const MEDECIN: &str = "10";
/// Code of the profession whose activities go to officines and carry a CNOP section.
pub(crate) const PHARMACIEN: &str = "21";
/// Code of the profession with dental specialties.
pub(crate) const DENTISTE: &str = "40";

/// TRE_G15 professions. Médecins are the most frequent code; ADELI weights favour paramedical
/// professions, which were the last to move from ADELI to RPPS.
pub(crate) const PROFESSIONS: &[Profession] = &[
    prof("10", "Médecin", 290, 0, "CNOM", 50, 55, 97),
    prof("60", "Infirmier", 260, 30, "ONI", 87, 62, 0),
    prof("70", "Masseur-Kinésithérapeute", 90, 10, "CNOMK", 52, 85, 0),
    prof("21", "Pharmacien", 75, 0, "CNOP", 68, 0, 60),
    prof("40", "Chirurgien-Dentiste", 42, 0, "ONCD", 48, 90, 90),
    prof("50", "Sage-Femme", 24, 0, "CNOSF", 97, 60, 0),
    prof("91", "Orthophoniste", 22, 20, "ARS", 96, 85, 0),
    prof("98", "Manipulateur ERM", 35, 10, "ARS", 70, 5, 0),
    prof("28", "Opticien-Lunetier", 30, 8, "ARS", 55, 85, 0),
    prof("80", "Pédicure-Podologue", 14, 6, "CNOPP", 70, 95, 0),
    prof("96", "Psychomotricien", 14, 12, "ARS", 88, 30, 0),
    prof("94", "Ergothérapeute", 13, 12, "ARS", 85, 20, 0),
    prof("95", "Diététicien", 12, 10, "ARS", 90, 40, 0),
    prof(
        "86",
        "Technicien de laboratoire médical",
        12,
        4,
        "ARS",
        75,
        10,
        0,
    ),
    prof("92", "Orthoptiste", 6, 8, "ARS", 80, 70, 0),
    prof("26", "Audioprothésiste", 5, 4, "ARS", 50, 80, 0),
    prof("31", "Assistant dentaire", 5, 0, "ARS", 95, 80, 0),
    prof("69", "Infirmier psychiatrique", 2, 3, "ONI", 70, 5, 0),
    prof("83", "Orthopédiste-Orthésiste", 2, 1, "ARS", 30, 80, 0),
    prof("32", "Physicien médical", 1, 0, "ARS", 45, 0, 0),
    prof("81", "Orthoprothésiste", 1, 1, "ARS", 20, 70, 0),
    prof("82", "Podo-Orthésiste", 1, 1, "ARS", 20, 90, 0),
    prof("84", "Oculariste", 1, 0, "ARS", 40, 90, 0),
    prof("85", "Epithésiste", 1, 0, "ARS", 40, 90, 0),
];

/// Profession pairs of the rare persons registered with two professions (first, second).
pub(crate) const DOUBLE_PROFESSIONS: &[(&str, &str)] = &[
    ("60", "70"),
    ("60", "50"),
    ("50", "10"),
    ("70", "10"),
    ("21", "10"),
    ("60", "10"),
];

/// TRE_R09 catégories professionnelles with their weights (civil dominates).
pub(crate) const CATEGORIES: &[(Code, u32)] = &[
    (c("C", "Civil"), 970),
    (c("M", "Militaire"), 20),
    (c("E", "Etudiant"), 10),
];

/// TRE_R11 civilités d'exercice.
pub(crate) const DOCTOR: Code = c("DR", "Docteur");
pub(crate) const PROFESSOR: Code = c("PR", "Professeur");

/// TRE_R81 civilités.
pub(crate) const MISTER: Code = c("M", "Monsieur");
pub(crate) const MADAM: Code = c("MME", "Madame");

/// A savoir-faire (type + code), with a relative weight within its table.
#[derive(Debug)]
pub(crate) struct SavoirFaire {
    pub kind: Code,
    pub code: &'static str,
    pub label: &'static str,
    pub weight: u32,
}

const SPECIALITE: Code = c("S", "Spécialité ordinale");
const CAPACITE: Code = c("CAPA", "Capacité");

const fn sm(code: &'static str, label: &'static str, weight: u32) -> SavoirFaire {
    SavoirFaire {
        kind: SPECIALITE,
        code,
        label,
        weight,
    }
}

const fn capa(code: &'static str, label: &'static str, weight: u32) -> SavoirFaire {
    SavoirFaire {
        kind: CAPACITE,
        code,
        label,
        weight,
    }
}

/// TRE_R38 spécialités ordinales of médecins (`SMnn`). General practice dominates, as in the real file.
/// Labels follow the NOS wording as far as known; a few are approximations.
pub(crate) const MEDECIN_SPECIALTIES: &[SavoirFaire] = &[
    sm("SM54", "Médecine Générale", 300),
    sm("SM53", "Spécialiste en Médecine Générale", 120),
    sm("SM26", "Qualifié en Médecine Générale", 60),
    sm("SM42", "Psychiatrie", 55),
    sm("SM02", "Anesthésie-réanimation", 35),
    sm("SM40", "Pédiatrie", 35),
    sm("SM04", "Cardiologie et maladies vasculaires", 30),
    sm("SM44", "Radio-diagnostic", 30),
    sm("SM20", "Gynécologie-obstétrique", 25),
    sm("SM38", "Ophtalmologie", 25),
    sm("SM25", "Médecine du travail", 20),
    sm("SM15", "Dermatologie et vénéréologie", 15),
    sm("SM24", "Gastro-entérologie et hépatologie", 15),
    sm("SM08", "Chirurgie orthopédique et traumatologie", 15),
    sm("SM34", "O.R.L et chirurgie cervico faciale", 12),
    sm("SM41", "Pneumologie", 12),
    sm("SM32", "Neurologie", 12),
    sm("SM14", "Chirurgie viscérale et digestive", 10),
    sm("SM18", "Gériatrie", 10),
    sm("SM27", "Médecine interne", 10),
    sm("SM48", "Rhumatologie", 10),
    sm("SM03", "Biologie médicale", 10),
    sm("SM30", "Néphrologie", 8),
    sm("SM16", "Endocrinologie et métabolisme", 6),
    sm("SM29", "Médecine physique et réadaptation", 6),
    sm("SM36", "Oncologie option médicale", 6),
    sm("SM01", "Anatomie et cytologie pathologiques", 5),
    sm("SM12", "Chirurgie urologique", 5),
    sm("SM49", "Santé publique et médecine sociale", 5),
    sm("SM21", "Hématologie", 4),
    sm("SM47", "Réanimation médicale", 4),
    sm("SM28", "Médecine nucléaire", 3),
];

/// Capacités (TRE_R43) used as the second savoir-faire of some médecins. Code shapes follow docs/formats.md §5.2
/// (`CAP13`); the number↔label pairing is invented.
pub(crate) const MEDECIN_CAPACITIES: &[SavoirFaire] = &[
    capa("CAP13", "Capacité de gérontologie", 30),
    capa("CAP05", "Capacité de médecine d'urgence", 25),
    capa("CAP02", "Capacité d'addictologie clinique", 15),
    capa("CAP09", "Capacité de médecine du sport", 15),
    capa("CAP01", "Capacité d'allergologie", 10),
    capa("CAP07", "Capacité de médecine tropicale", 5),
];

/// Dental spécialités ordinales (`SCDnn`, shape from docs/formats.md §5.2).
pub(crate) const DENTISTE_SPECIALTIES: &[SavoirFaire] = &[
    sm("SCD01", "Orthopédie dento-faciale", 50),
    sm("SCD02", "Chirurgie orale", 30),
    sm("SCD03", "Médecine bucco-dentaire", 20),
];

// ---------------------------------------------------------------------------------------------
// Activities
// ---------------------------------------------------------------------------------------------

/// TRE_R23 modes d'exercice.
pub(crate) const MODE_LIBERAL: Code = c("L", "Libéral");
pub(crate) const MODE_SALARIE: Code = c("S", "Salarié");
pub(crate) const MODE_BENEVOLE: Code = c("B", "Bénévole");

/// TRE_R02 secteurs d'activité. SA01/SA07/SA08/SA09/SA33 are from the published files; SA04/SA05/SA13 labels
/// are unverified stand-ins.
pub(crate) const SECTOR_PUBLIC_HOSPITAL: Code = c("SA01", "Etablissement public de santé");
pub(crate) const SECTOR_PRIVATE_HOSPITAL: Code = c("SA04", "Etablissement privé non PSPH");
pub(crate) const SECTOR_HEALTH_CENTRE: Code = c("SA05", "Centre de santé");
pub(crate) const SECTOR_SOLO_CABINET: Code = c("SA07", "Cabinet individuel");
pub(crate) const SECTOR_GROUP_CABINET: Code = c("SA08", "Cabinet de groupe");
pub(crate) const SECTOR_COMPANY: Code = c("SA09", "Exercice en société");
pub(crate) const SECTOR_MEDICO_SOCIAL: Code = c("SA13", "Etablissement social et médico-social");
pub(crate) const SECTOR_OFFICINE: Code = c("SA33", "Pharmacie d'officine");

/// TRE_R21 rôles.
pub(crate) const ROLE_CABINET_OWNER: Code = c("FON-01", "Titulaire de cabinet");
pub(crate) const ROLE_PARTNER: Code =
    c("FON-02", "Associé dans une société d'exercice (SEL ou SCP)");
pub(crate) const ROLE_OFFICINE_OWNER: Code = c("FON-03", "Titulaire d'officine");
pub(crate) const ROLE_OFFICINE_SUBSTITUTE: Code = c("FON-04", "Remplaçant du titulaire d'officine");
pub(crate) const ROLE_DEPUTY: Code = c("FON-05", "Adjoint");
pub(crate) const ROLE_HEAD: Code = c("FON-09", "Responsable d'établissement");
pub(crate) const ROLE_COLLABORATOR: Code = c("FON-17", "Collaborateur");
pub(crate) const ROLE_ASSISTANT: Code = c("FON-18", "Assistant");
pub(crate) const ROLE_SUBSTITUTE: Code = c("FON-22", "Remplaçant, intérimaire, intermittent");
pub(crate) const ROLE_OTHER: Code = c("FON-AU", "Autre");

/// TRE_R22 genres d'activité.
pub(crate) const GENRE_CARE: Code = c("GENR01", "Activité de soin et de pharmacie");
pub(crate) const GENRE_REPLACEMENT: Code = c("GENR03", "Remplacement dans une activité de soins");
pub(crate) const GENRE_NON_CARE: Code = c("GENR04", "Activité non soignante");
pub(crate) const GENRE_MEDICO_ADMIN: Code = c("GENR13", "Activité médico-administrative");

/// CNOP sections of the tableau des pharmaciens.
pub(crate) const SECTION_A: Code = c("A", "Section A");
pub(crate) const SECTION_D: Code = c("D", "Section D");
pub(crate) const SECTION_E: Code = c("E", "Section E");
pub(crate) const SECTION_G: Code = c("G", "Section G");
pub(crate) const SECTION_H: Code = c("H", "Section H");

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// Street types (code, label, weight): the codes shared by RPPS and FINESS.
pub(crate) const STREET_TYPES: &[(Code, u32)] = &[
    (c("R", "Rue"), 50),
    (c("AV", "Avenue"), 15),
    (c("BD", "Boulevard"), 8),
    (c("RTE", "Route"), 6),
    (c("PL", "Place"), 6),
    (c("CHE", "Chemin"), 5),
    (c("ALL", "Allée"), 4),
    (c("IMP", "Impasse"), 2),
    (c("QUA", "Quai"), 1),
    (c("CRS", "Cours"), 1),
    (c("SQ", "Square"), 1),
];

/// Street names, upper case without accents as the registries usually store them.
pub(crate) const STREET_NAMES: &[&str] = &[
    "DE LA REPUBLIQUE",
    "DU GENERAL DE GAULLE",
    "JEAN JAURES",
    "DES TILLEULS",
    "VICTOR HUGO",
    "PASTEUR",
    "DE LA GARE",
    "DU MARECHAL FOCH",
    "DES ECOLES",
    "DE L'EGLISE",
    "DU MOULIN",
    "DES ACACIAS",
    "SAINT-MARTIN",
    "DE LA LIBERATION",
    "GAMBETTA",
    "DU 8 MAI 1945",
    "DE VERDUN",
    "CARNOT",
    "DES LILAS",
    "DU CHATEAU",
    "DE LA PAIX",
    "DES PEUPLIERS",
    "DU STADE",
    "DE L'HOPITAL",
    "DES CERISIERS",
    "DE LA MAIRIE",
    "DU COMMANDANT GUILBAUD",
    "DES ROSES",
    "DU PORT",
    "DES VIGNES",
    "DE LA FONTAINE",
    "DU PRESIDENT WILSON",
    "ANATOLE FRANCE",
    "DES ARTISANS",
    "DE BELLEVUE",
    "DU DOCTEUR SCHWEITZER",
    "EMILE ZOLA",
    "DES PRES",
    "DE LA FORET",
    "DU LAVOIR",
    "DES FRENES",
    "DE LA LIBERTE",
    "DU CHAMP DE FOIRE",
    "DES JARDINS",
    "DE LA POSTE",
    "ARISTIDE BRIAND",
    "DU CLOS FLEURI",
    "DES MARRONNIERS",
    "DE LA VALLEE",
    "LOUIS BLERIOT",
    "DES GLYCINES",
    "DU PONT NEUF",
    "DES SOURCES",
    "DE L'INDUSTRIE",
    "DES CAPUCINES",
    "DU DOCTEUR INVENTE",
    "DES TILLEULS FICTIFS",
    "DU MARCHE IMAGINAIRE",
    "PIERRE ET MARIE CURIE",
    "DU 11 NOVEMBRE",
];

/// Accented spellings some sources use for the same street (conflicting structure data).
pub(crate) const ACCENTED_STREETS: &[(&str, &str)] = &[
    ("DE LA REPUBLIQUE", "DE LA RÉPUBLIQUE"),
    ("DE L'EGLISE", "DE L'ÉGLISE"),
    ("DES ECOLES", "DES ÉCOLES"),
    ("DU GENERAL DE GAULLE", "DU GÉNÉRAL DE GAULLE"),
    ("DE LA LIBERATION", "DE LA LIBÉRATION"),
    ("DU MARECHAL FOCH", "DU MARÉCHAL FOCH"),
    ("DE L'HOPITAL", "DE L'HÔPITAL"),
    ("DU CHATEAU", "DU CHÂTEAU"),
    ("DES PRES", "DES PRÉS"),
    ("DE LA FORET", "DE LA FORÊT"),
];

/// Complément point géographique values (building, floor, residence).
pub(crate) const BUILDING_COMPLEMENTS: &[&str] = &[
    "BATIMENT A",
    "BATIMENT B",
    "RESIDENCE LES PINS",
    "1ER ETAGE",
    "2EME ETAGE",
    "ESCALIER C",
    "CENTRE COMMERCIAL LES ARCADES",
    "ZONE ARTISANALE",
    "ENTREE 3",
    "PARC D'ACTIVITES DU LAC",
    "IMMEUBLE LE FORUM",
    "REZ-DE-CHAUSSEE",
];

/// Complément destinataire values (recipient line).
pub(crate) const RECIPIENT_COMPLEMENTS: &[&str] = &[
    "CABINET MEDICAL",
    "MAISON DE SANTE",
    "POLE SANTE",
    "CENTRE MEDICAL",
    "SECRETARIAT",
    "SERVICE DES URGENCES",
    "CENTRE PARAMEDICAL",
];

/// Lieux-dits used in the mention distribution field.
pub(crate) const LIEUX_DITS: &[&str] = &[
    "LIEU-DIT LES COMBES",
    "LE BOURG",
    "HAMEAU DES VIGNES",
    "LIEU-DIT LA CROIX",
    "LES GRANGES",
];

/// How a department's coordinates are expressed in FINESS geolocalisation records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Geo {
    /// Metropolitan France: centre in degrees, projected to Lambert 93 by the generator.
    Lambert93 { lon: f64, lat: f64 },
    /// Overseas: centre already in metres in the UTM zone named by `zone` (as in `sourcecoordet`).
    Utm {
        zone: &'static str,
        easting: f64,
        northing: f64,
        spread_m: f64,
    },
}

/// A French department with its seat (chef-lieu) and the values both files need.
#[derive(Debug)]
pub(crate) struct Department {
    /// RPPS `Code Département`: `01`…`95`, `2A`, `2B`, `971`…
    pub code: &'static str,
    /// FINESS `departement`: same as `code` in metropole, `9A`…`9F` overseas.
    pub finess_code: &'static str,
    /// Prefix of FINESS numbers (`21`, `2A`, `971`…).
    pub finess_prefix: &'static str,
    pub label: &'static str,
    pub seat: &'static str,
    pub seat_postcode: &'static str,
    pub seat_cog: &'static str,
    pub geo: Geo,
    /// Population in tens of thousands (drives where structures are).
    pub weight: u32,
    /// First digits of landline numbers in this department.
    pub phone_prefix: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn metro(
    code: &'static str,
    label: &'static str,
    seat: &'static str,
    seat_postcode: &'static str,
    seat_cog: &'static str,
    lon: f64,
    lat: f64,
    weight: u32,
    phone_prefix: &'static str,
) -> Department {
    Department {
        code,
        finess_code: code,
        finess_prefix: code,
        label,
        seat,
        seat_postcode,
        seat_cog,
        geo: Geo::Lambert93 { lon, lat },
        weight,
        phone_prefix,
    }
}

#[allow(clippy::too_many_arguments)]
const fn overseas(
    code: &'static str,
    finess_code: &'static str,
    label: &'static str,
    seat: &'static str,
    seat_postcode: &'static str,
    seat_cog: &'static str,
    zone: &'static str,
    easting: f64,
    northing: f64,
    spread_m: f64,
    weight: u32,
    phone_prefix: &'static str,
) -> Department {
    Department {
        code,
        finess_code,
        finess_prefix: code,
        label,
        seat,
        seat_postcode,
        seat_cog,
        geo: Geo::Utm {
            zone,
            easting,
            northing,
            spread_m,
        },
        weight,
        phone_prefix,
    }
}

/// All departments (metropole incl. Corsica, and the five DROM). Seats, postcodes and coordinates are
/// approximate public geography, used only to make addresses and coordinates plausible.
pub(crate) const DEPARTMENTS: &[Department] = &[
    metro(
        "01",
        "Ain",
        "Bourg-en-Bresse",
        "01000",
        "01053",
        5.23,
        46.21,
        66,
        "04",
    ),
    metro(
        "02", "Aisne", "Laon", "02000", "02408", 3.62, 49.56, 53, "03",
    ),
    metro(
        "03", "Allier", "Moulins", "03000", "03190", 3.33, 46.57, 33, "04",
    ),
    metro(
        "04",
        "Alpes-de-Haute-Provence",
        "Digne-les-Bains",
        "04000",
        "04070",
        6.24,
        44.09,
        16,
        "04",
    ),
    metro(
        "05",
        "Hautes-Alpes",
        "Gap",
        "05000",
        "05061",
        6.08,
        44.56,
        14,
        "04",
    ),
    metro(
        "06",
        "Alpes-Maritimes",
        "Nice",
        "06000",
        "06088",
        7.26,
        43.70,
        110,
        "04",
    ),
    metro(
        "07", "Ardèche", "Privas", "07000", "07186", 4.60, 44.74, 33, "04",
    ),
    metro(
        "08",
        "Ardennes",
        "Charleville-Mézières",
        "08000",
        "08105",
        4.72,
        49.77,
        27,
        "03",
    ),
    metro(
        "09", "Ariège", "Foix", "09000", "09122", 1.61, 42.97, 15, "05",
    ),
    metro(
        "10", "Aube", "Troyes", "10000", "10387", 4.07, 48.30, 31, "03",
    ),
    metro(
        "11",
        "Aude",
        "Carcassonne",
        "11000",
        "11069",
        2.35,
        43.21,
        38,
        "04",
    ),
    metro(
        "12", "Aveyron", "Rodez", "12000", "12202", 2.57, 44.35, 28, "05",
    ),
    metro(
        "13",
        "Bouches-du-Rhône",
        "Marseille",
        "13001",
        "13055",
        5.37,
        43.30,
        205,
        "04",
    ),
    metro(
        "14", "Calvados", "Caen", "14000", "14118", -0.36, 49.18, 70, "02",
    ),
    metro(
        "15", "Cantal", "Aurillac", "15000", "15014", 2.44, 44.93, 14, "04",
    ),
    metro(
        "16",
        "Charente",
        "Angoulême",
        "16000",
        "16015",
        0.16,
        45.65,
        35,
        "05",
    ),
    metro(
        "17",
        "Charente-Maritime",
        "La Rochelle",
        "17000",
        "17300",
        -1.15,
        46.16,
        66,
        "05",
    ),
    metro(
        "18", "Cher", "Bourges", "18000", "18033", 2.40, 47.08, 30, "02",
    ),
    metro(
        "19", "Corrèze", "Tulle", "19000", "19272", 1.77, 45.27, 24, "05",
    ),
    metro(
        "21",
        "Côte-d'Or",
        "Dijon",
        "21000",
        "21231",
        5.04,
        47.32,
        53,
        "03",
    ),
    metro(
        "22",
        "Côtes-d'Armor",
        "Saint-Brieuc",
        "22000",
        "22278",
        -2.76,
        48.51,
        60,
        "02",
    ),
    metro(
        "23", "Creuse", "Guéret", "23000", "23096", 1.87, 46.17, 12, "05",
    ),
    metro(
        "24",
        "Dordogne",
        "Périgueux",
        "24000",
        "24322",
        0.72,
        45.18,
        41,
        "05",
    ),
    metro(
        "25",
        "Doubs",
        "Besançon",
        "25000",
        "25056",
        6.02,
        47.24,
        54,
        "03",
    ),
    metro(
        "26", "Drôme", "Valence", "26000", "26362", 4.89, 44.93, 52, "04",
    ),
    metro(
        "27", "Eure", "Évreux", "27000", "27229", 1.15, 49.02, 60, "02",
    ),
    metro(
        "28",
        "Eure-et-Loir",
        "Chartres",
        "28000",
        "28085",
        1.49,
        48.45,
        43,
        "02",
    ),
    metro(
        "29",
        "Finistère",
        "Quimper",
        "29000",
        "29232",
        -4.10,
        48.00,
        92,
        "02",
    ),
    metro(
        "2A",
        "Corse-du-Sud",
        "Ajaccio",
        "20000",
        "2A004",
        8.74,
        41.93,
        16,
        "04",
    ),
    metro(
        "2B",
        "Haute-Corse",
        "Bastia",
        "20200",
        "2B033",
        9.45,
        42.70,
        18,
        "04",
    ),
    metro(
        "30", "Gard", "Nîmes", "30000", "30189", 4.36, 43.84, 75, "04",
    ),
    metro(
        "31",
        "Haute-Garonne",
        "Toulouse",
        "31000",
        "31555",
        1.44,
        43.60,
        140,
        "05",
    ),
    metro(
        "32", "Gers", "Auch", "32000", "32013", 0.59, 43.65, 19, "05",
    ),
    metro(
        "33", "Gironde", "Bordeaux", "33000", "33063", -0.58, 44.84, 165, "05",
    ),
    metro(
        "34",
        "Hérault",
        "Montpellier",
        "34000",
        "34172",
        3.88,
        43.61,
        118,
        "04",
    ),
    metro(
        "35",
        "Ille-et-Vilaine",
        "Rennes",
        "35000",
        "35238",
        -1.68,
        48.11,
        109,
        "02",
    ),
    metro(
        "36",
        "Indre",
        "Châteauroux",
        "36000",
        "36044",
        1.69,
        46.81,
        22,
        "02",
    ),
    metro(
        "37",
        "Indre-et-Loire",
        "Tours",
        "37000",
        "37261",
        0.69,
        47.39,
        61,
        "02",
    ),
    metro(
        "38", "Isère", "Grenoble", "38000", "38185", 5.72, 45.19, 127, "04",
    ),
    metro(
        "39",
        "Jura",
        "Lons-le-Saunier",
        "39000",
        "39300",
        5.55,
        46.67,
        26,
        "03",
    ),
    metro(
        "40",
        "Landes",
        "Mont-de-Marsan",
        "40000",
        "40192",
        -0.50,
        43.89,
        42,
        "05",
    ),
    metro(
        "41",
        "Loir-et-Cher",
        "Blois",
        "41000",
        "41018",
        1.33,
        47.59,
        33,
        "02",
    ),
    metro(
        "42",
        "Loire",
        "Saint-Étienne",
        "42000",
        "42218",
        4.39,
        45.43,
        77,
        "04",
    ),
    metro(
        "43",
        "Haute-Loire",
        "Le Puy-en-Velay",
        "43000",
        "43157",
        3.88,
        45.04,
        23,
        "04",
    ),
    metro(
        "44",
        "Loire-Atlantique",
        "Nantes",
        "44000",
        "44109",
        -1.55,
        47.22,
        145,
        "02",
    ),
    metro(
        "45", "Loiret", "Orléans", "45000", "45234", 1.91, 47.90, 69, "02",
    ),
    metro(
        "46", "Lot", "Cahors", "46000", "46042", 1.44, 44.45, 17, "05",
    ),
    metro(
        "47",
        "Lot-et-Garonne",
        "Agen",
        "47000",
        "47001",
        0.62,
        44.20,
        33,
        "05",
    ),
    metro(
        "48", "Lozère", "Mende", "48000", "48095", 3.50, 44.52, 8, "04",
    ),
    metro(
        "49",
        "Maine-et-Loire",
        "Angers",
        "49000",
        "49007",
        -0.55,
        47.47,
        82,
        "02",
    ),
    metro(
        "50",
        "Manche",
        "Saint-Lô",
        "50000",
        "50502",
        -1.09,
        49.12,
        49,
        "02",
    ),
    metro(
        "51",
        "Marne",
        "Châlons-en-Champagne",
        "51000",
        "51108",
        4.37,
        48.96,
        57,
        "03",
    ),
    metro(
        "52",
        "Haute-Marne",
        "Chaumont",
        "52000",
        "52121",
        5.14,
        48.11,
        17,
        "03",
    ),
    metro(
        "53", "Mayenne", "Laval", "53000", "53130", -0.77, 48.07, 31, "02",
    ),
    metro(
        "54",
        "Meurthe-et-Moselle",
        "Nancy",
        "54000",
        "54395",
        6.18,
        48.69,
        73,
        "03",
    ),
    metro(
        "55",
        "Meuse",
        "Bar-le-Duc",
        "55000",
        "55029",
        5.16,
        48.77,
        18,
        "03",
    ),
    metro(
        "56", "Morbihan", "Vannes", "56000", "56260", -2.76, 47.66, 76, "02",
    ),
    metro(
        "57", "Moselle", "Metz", "57000", "57463", 6.18, 49.12, 104, "03",
    ),
    metro(
        "58", "Nièvre", "Nevers", "58000", "58194", 3.16, 46.99, 20, "03",
    ),
    metro(
        "59", "Nord", "Lille", "59000", "59350", 3.06, 50.63, 261, "03",
    ),
    metro(
        "60", "Oise", "Beauvais", "60000", "60057", 2.08, 49.43, 83, "03",
    ),
    metro(
        "61", "Orne", "Alençon", "61000", "61001", 0.09, 48.43, 28, "02",
    ),
    metro(
        "62",
        "Pas-de-Calais",
        "Arras",
        "62000",
        "62041",
        2.78,
        50.29,
        146,
        "03",
    ),
    metro(
        "63",
        "Puy-de-Dôme",
        "Clermont-Ferrand",
        "63000",
        "63113",
        3.09,
        45.78,
        66,
        "04",
    ),
    metro(
        "64",
        "Pyrénées-Atlantiques",
        "Pau",
        "64000",
        "64445",
        -0.37,
        43.30,
        69,
        "05",
    ),
    metro(
        "65",
        "Hautes-Pyrénées",
        "Tarbes",
        "65000",
        "65440",
        0.08,
        43.23,
        23,
        "05",
    ),
    metro(
        "66",
        "Pyrénées-Orientales",
        "Perpignan",
        "66000",
        "66136",
        2.90,
        42.70,
        48,
        "04",
    ),
    metro(
        "67",
        "Bas-Rhin",
        "Strasbourg",
        "67000",
        "67482",
        7.75,
        48.58,
        115,
        "03",
    ),
    metro(
        "68",
        "Haut-Rhin",
        "Colmar",
        "68000",
        "68066",
        7.36,
        48.08,
        77,
        "03",
    ),
    metro(
        "69", "Rhône", "Lyon", "69001", "69123", 4.84, 45.76, 190, "04",
    ),
    metro(
        "70",
        "Haute-Saône",
        "Vesoul",
        "70000",
        "70550",
        6.15,
        47.62,
        23,
        "03",
    ),
    metro(
        "71",
        "Saône-et-Loire",
        "Mâcon",
        "71000",
        "71270",
        4.83,
        46.31,
        55,
        "03",
    ),
    metro(
        "72", "Sarthe", "Le Mans", "72000", "72181", 0.20, 48.00, 56, "02",
    ),
    metro(
        "73",
        "Savoie",
        "Chambéry",
        "73000",
        "73065",
        5.92,
        45.57,
        44,
        "04",
    ),
    metro(
        "74",
        "Haute-Savoie",
        "Annecy",
        "74000",
        "74010",
        6.13,
        45.90,
        84,
        "04",
    ),
    metro(
        "75", "Paris", "Paris", "75001", "75056", 2.35, 48.86, 260, "01",
    ),
    metro(
        "76",
        "Seine-Maritime",
        "Rouen",
        "76000",
        "76540",
        1.10,
        49.44,
        125,
        "02",
    ),
    metro(
        "77",
        "Seine-et-Marne",
        "Melun",
        "77000",
        "77288",
        2.66,
        48.54,
        145,
        "01",
    ),
    metro(
        "78",
        "Yvelines",
        "Versailles",
        "78000",
        "78646",
        2.13,
        48.80,
        145,
        "01",
    ),
    metro(
        "79",
        "Deux-Sèvres",
        "Niort",
        "79000",
        "79191",
        -0.46,
        46.32,
        37,
        "05",
    ),
    metro(
        "80", "Somme", "Amiens", "80000", "80021", 2.30, 49.89, 57, "03",
    ),
    metro(
        "81", "Tarn", "Albi", "81000", "81004", 2.15, 43.93, 39, "05",
    ),
    metro(
        "82",
        "Tarn-et-Garonne",
        "Montauban",
        "82000",
        "82121",
        1.35,
        44.02,
        26,
        "05",
    ),
    metro(
        "83", "Var", "Toulon", "83000", "83137", 5.93, 43.12, 108, "04",
    ),
    metro(
        "84", "Vaucluse", "Avignon", "84000", "84007", 4.81, 43.95, 56, "04",
    ),
    metro(
        "85",
        "Vendée",
        "La Roche-sur-Yon",
        "85000",
        "85191",
        -1.43,
        46.67,
        69,
        "02",
    ),
    metro(
        "86", "Vienne", "Poitiers", "86000", "86194", 0.34, 46.58, 44, "05",
    ),
    metro(
        "87",
        "Haute-Vienne",
        "Limoges",
        "87000",
        "87085",
        1.26,
        45.83,
        37,
        "05",
    ),
    metro(
        "88", "Vosges", "Épinal", "88000", "88160", 6.45, 48.17, 36, "03",
    ),
    metro(
        "89", "Yonne", "Auxerre", "89000", "89024", 3.57, 47.80, 34, "03",
    ),
    metro(
        "90",
        "Territoire de Belfort",
        "Belfort",
        "90000",
        "90010",
        6.86,
        47.64,
        14,
        "03",
    ),
    metro(
        "91",
        "Essonne",
        "Évry-Courcouronnes",
        "91000",
        "91228",
        2.44,
        48.63,
        130,
        "01",
    ),
    metro(
        "92",
        "Hauts-de-Seine",
        "Nanterre",
        "92000",
        "92050",
        2.21,
        48.89,
        163,
        "01",
    ),
    metro(
        "93",
        "Seine-Saint-Denis",
        "Bobigny",
        "93000",
        "93008",
        2.44,
        48.91,
        166,
        "01",
    ),
    metro(
        "94",
        "Val-de-Marne",
        "Créteil",
        "94000",
        "94028",
        2.46,
        48.79,
        141,
        "01",
    ),
    metro(
        "95",
        "Val-d'Oise",
        "Cergy",
        "95000",
        "95127",
        2.06,
        49.04,
        125,
        "01",
    ),
    overseas(
        "971",
        "9A",
        "Guadeloupe",
        "Basse-Terre",
        "97100",
        "97105",
        "UTM_N20",
        645000.0,
        1772000.0,
        9000.0,
        38,
        "0590",
    ),
    overseas(
        "972",
        "9B",
        "Martinique",
        "Fort-de-France",
        "97200",
        "97209",
        "UTM_N20",
        708000.0,
        1615000.0,
        8000.0,
        36,
        "0596",
    ),
    overseas(
        "973", "9C", "Guyane", "Cayenne", "97300", "97302", "UTM_N22", 353000.0, 545000.0, 15000.0,
        28, "0594",
    ),
    overseas(
        "974",
        "9D",
        "La Réunion",
        "Saint-Denis",
        "97400",
        "97411",
        "UTM_S40",
        338500.0,
        7690500.0,
        12000.0,
        87,
        "0262",
    ),
    overseas(
        "976",
        "9F",
        "Mayotte",
        "Mamoudzou",
        "97600",
        "97611",
        "UTM_S38",
        524000.0,
        8587000.0,
        4000.0,
        30,
        "0269",
    ),
];

/// Building blocks of invented commune names (mixed case, as `Libellé commune`).
pub(crate) const TOWN_BASES: &[&str] = &[
    "Saint-Aubin",
    "Saint-Julien",
    "Saint-Éloi",
    "Sainte-Colombe",
    "Villeneuve",
    "Beaumont",
    "Châteauneuf",
    "Fontaine",
    "La Chapelle",
    "Neuville",
    "Rochefort",
    "Montagny",
    "Bellevue",
    "Champagnac",
    "Mézières",
    "Lavergne",
    "Bourg-Neuf",
    "Les Aubiers",
    "Clairefont",
    "Montbrison",
    "Vaulx",
    "Plessis",
    "Marcilly",
    "Brémontier",
    "Savigny",
    "Aigueperse",
    "L'Isle",
    "Écoville",
    "Val-Fleuri",
    "Mont-Évrard",
    "Bois-Colombier",
    "Thérouanne",
    "Pontcharra",
    "Castelnau",
];

/// Optional endings of invented commune names.
pub(crate) const TOWN_SUFFIXES: &[&str] = &[
    "-sur-Loire",
    "-sur-Seine",
    "-sur-Marne",
    "-sur-Saône",
    "-lès-Bains",
    "-en-Vexin",
    "-le-Vieux",
    "-des-Bois",
    "-la-Forêt",
    "-sur-Mer",
    "-du-Lac",
    "-d'Azergues",
    "-en-Brie",
    "-sur-Lot",
];

/// Foreign countries seen in `Code pays` (INSEE 99xxx codes) with a few (postcode, city) pairs;
/// postcodes are deliberately not 5-digit French codes.
pub(crate) const FOREIGN_PLACES: &[(Code, &[(&str, &str)])] = &[
    (
        c("99132", "Royaume-Uni"),
        &[
            ("SW1A 1AA", "LONDON"),
            ("GL", "GLOUCESTER"),
            ("EH1 1YZ", "EDINBURGH"),
        ],
    ),
    (
        c("99131", "Belgique"),
        &[("1000", "BRUXELLES"), ("7500", "TOURNAI")],
    ),
    (
        c("99140", "Suisse"),
        &[("1201", "GENEVE"), ("CH-1003", "LAUSANNE")],
    ),
    (c("99137", "Luxembourg"), &[("L-1616", "LUXEMBOURG")]),
    (c("99109", "Allemagne"), &[("D-66111", "SAARBRUCKEN")]),
    (c("99134", "Espagne"), &[("08001", "BARCELONA")]),
    (c("99138", "Monaco"), &[("98000", "MONACO")]),
];

/// Foreign street lines (no French street type code).
pub(crate) const FOREIGN_STREETS: &[&str] = &[
    "HIGH STREET",
    "RUE DU MARCHE AUX HERBES",
    "AVENUE DE LA GARE",
    "CALLE MAYOR",
    "HAUPTSTRASSE",
    "BOULEVARD DES MOULINS",
];

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Consonant-ending openings of invented family names (some accented).
pub(crate) const FAMILY_STARTS: &[&str] = &[
    "BER", "BÉR", "CHAM", "DUR", "FAV", "GAL", "GÉR", "LAB", "LÉC", "MAR", "MOR", "PEL", "PÉR",
    "RAV", "ROCH", "SAL", "THÉV", "VAL", "VERN", "BOUR", "CHAB", "DELM", "FOUR", "GRAND", "HUB",
    "JOUB", "LAF", "MERC", "PAR", "QUEN", "RIB", "SÉV", "TAR", "VIGN", "BRUN", "COLL", "DAM",
    "FERR", "GOD", "LOR", "MAL", "NIC", "PIC", "TISS", "CAST", "BLANCH", "CLÉM", "FRAN", "KESS",
    "WALT", "HOFF", "BRÉH", "LEF", "GUÉR", "TRÉB", "PLOUG", "KERV", "ARN", "MESN", "DROUV",
];

/// Optional vowel+consonant middles of invented family names.
pub(crate) const FAMILY_MIDDLES: &[&str] = &[
    "AL", "EN", "OR", "IV", "ET", "ID", "OUL", "AN", "ER", "IGN", "ELL", "ENN", "AST", "OUD", "ÈR",
];

/// Vowel-starting endings of invented family names (some accented).
pub(crate) const FAMILY_ENDS: &[&str] = &[
    "IN", "OT", "ET", "ARD", "AUD", "EAU", "ERT", "IER", "IÈRE", "ON", "AIN", "ENT", "AND", "OUX",
    "ÈS", "EL", "ÉE", "AC", "IAC", "ÇON", "Y", "ER", "AUX", "OIS", "ELLE", "ÉCHAL", "OÏS", "ËL",
    "IOT", "ANT", "EC", "OU", "ERAN", "IEU", "AZ", "INI", "OZ", "ENKO", "ER", "ARÇON",
];

/// Vowel-starting openings for names written with an elided particle (`D'ALMEIDA`).
pub(crate) const VOWEL_STARTS: &[&str] = &[
    "ALM", "ARV", "ESP", "ORN", "AUB", "AMBR", "ÉV", "IS", "OLL", "ANG", "ARC", "ALB", "ENN", "URS",
];

/// Endings of Irish-looking names written with `O'` (`O'NEIL`).
pub(crate) const IRISH_ENDS: &[&str] = &["EIL", "AN", "ARA", "ELLY", "ANNAGH", "OLL", "EARY"];

/// Particles of multi-word family names (`DE LA TOUR`).
pub(crate) const PARTICLES: &[&str] = &[
    "DE LA ", "DE ", "DU ", "LE ", "LA ", "DES ", "VAN DER ", "DA ", "DOS ",
];

/// Female first names in mixed case (accents, diaereses and compounds on purpose).
pub(crate) const FEMALE_FIRST_NAMES: &[&str] = &[
    "Aïcha",
    "Chloé",
    "Zoé",
    "Hélène",
    "Cécile",
    "Noémie",
    "Anaïs",
    "Maëlle",
    "Gaëlle",
    "Joëlle",
    "Héloïse",
    "Inès",
    "Léa",
    "Clémence",
    "Mélanie",
    "Émilie",
    "Océane",
    "Anne-Sophie",
    "Marie-Hélène",
    "Marie-Claire",
    "Anne-Laure",
    "Claire",
    "Lucie",
    "Camille",
    "Sarah",
    "Julie",
    "Laura",
    "Pauline",
    "Manon",
    "Élodie",
    "Sophie",
    "Nathalie",
    "Isabelle",
    "Françoise",
    "Brigitte",
    "Sylvie",
    "Valérie",
    "Sandrine",
    "Amandine",
    "Aurélie",
    "Céline",
    "Karine",
    "Fatima",
    "Leïla",
    "Yasmina",
    "Nadège",
    "Solène",
    "Anouk",
    "Zoë",
    "Maïa",
    "Noëlle",
    "Ségolène",
    "Bérénice",
    "Capucine",
    "Agnès",
    "Mathilde",
    "Charlotte",
    "Lætitia",
    "Mireille",
    "Ophélie",
    "Özlem",
    "Gönül",
    "Marie",
    "Anne",
    "Emma",
    "Jade",
    "Louise",
    "Alice",
    "Margaux",
    "Justine",
];

/// Male first names in mixed case.
pub(crate) const MALE_FIRST_NAMES: &[&str] = &[
    "Jean-Baptiste",
    "Jean-François",
    "Pierre-Yves",
    "Jean-Michel",
    "Jean",
    "Pierre",
    "Paul",
    "Yves",
    "Jérôme",
    "Stéphane",
    "Frédéric",
    "Loïc",
    "Gaël",
    "Noël",
    "Raphaël",
    "Joël",
    "François",
    "Benoît",
    "Hervé",
    "Rémi",
    "Théo",
    "Léo",
    "Hugo",
    "Lucas",
    "Thomas",
    "Nicolas",
    "Julien",
    "Antoine",
    "Maxime",
    "Mathieu",
    "Sébastien",
    "Cédric",
    "Grégoire",
    "Aurélien",
    "Clément",
    "Timothée",
    "Mehdi",
    "Karim",
    "Youssef",
    "Rachid",
    "Ismaël",
    "Anis",
    "Éric",
    "Émile",
    "Étienne",
    "Gérard",
    "Michel",
    "Bernard",
    "Philippe",
    "Olivier",
    "Laurent",
    "Thierry",
    "Pascal",
    "Vincent",
    "Arnaud",
    "Damien",
    "Ludovic",
    "Cyril",
    "Quentin",
    "Björn",
    "Jörg",
    "Göran",
    "Jérémie",
    "Adrien",
    "Baptiste",
    "Bastien",
    "Marc-Antoine",
    "Hichem",
];

/// Evocative names of establishments and group practices.
pub(crate) const PLACE_NAMES: &[&str] = &[
    "LES MIMOSAS",
    "LES TILLEULS",
    "LE CLOS FLEURI",
    "LES GLYCINES",
    "BEAU SEJOUR",
    "LES OLIVIERS",
    "LA ROSERAIE",
    "LE VAL FLEURI",
    "LES CHARMES",
    "L'ORANGERIE",
    "LES CEDRES",
    "LES HORTENSIAS",
    "SAINT-JOSEPH",
    "LE PRE VERT",
    "LES CYPRES",
    "LA SOURCE",
    "LES AIRELLES",
    "LE BOIS JOLI",
    "LES FILAOS",
    "LES BLEUETS",
    "LA CLAIRIERE",
    "LES COQUELICOTS",
    "LE BELVEDERE",
    "LES SAULES",
    "DU PARC",
    "DU CENTRE",
    "DE LA GARE",
    "DES HALLES",
    "DU MARCHE",
    "DE L'EUROPE",
    "DES ARCADES",
];

// ---------------------------------------------------------------------------------------------
// FINESS
// ---------------------------------------------------------------------------------------------

/// What an establishment category is used for when linking RPPS activities to FINESS sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SiteKind {
    /// Public or private hospital: main site of salaried activities.
    Hospital,
    /// Pharmacie d'officine: site of pharmacists' officine activities.
    Pharmacy,
    /// Centre de santé, maison de santé, dialysis, home care: secondary salaried sites.
    Care,
    /// Medico-social establishment (EHPAD, IME…): occasional salaried sites.
    MedicoSocial,
    /// Social establishment without health professionals in the RPPS file.
    Social,
}

/// A FINESS catégorie d'établissement with its aggregate and the values tied to it.
#[derive(Debug)]
pub(crate) struct Category {
    pub code: &'static str,
    pub label: &'static str,
    pub aggregate: Code,
    pub kind: SiteKind,
    /// Relative frequency among establishments.
    pub weight: u32,
    /// NAF codes (first is the most frequent); empty string = missing code.
    pub ape: &'static [&'static str],
    pub mft: &'static Code,
    /// Service public hospitalier, `None` = empty fields.
    pub sph: Option<&'static Code>,
    /// Short name prefix (`rs`) and long name prefix (`rslongue`, empty = no long name).
    pub short_prefix: &'static str,
    pub long_prefix: &'static str,
    /// RPPS secteur d'activité of activities located in this category.
    pub sector: &'static Code,
}

pub(crate) const MFT_FREE: Code = c("01", "Etablissement Tarif Libre");
pub(crate) const MFT_PUBLIC: Code = c("03", "ARS établissements Publics de santé dotation globale");
pub(crate) const MFT_PRIVATE: Code = c(
    "07",
    "ARS établissements de santé non financés dotation globale",
);
pub(crate) const MFT_DEPARTMENT: Code = c("08", "Président du Conseil Départemental");
pub(crate) const MFT_GLOBAL: Code = c(
    "40",
    "ARS/PCD, Tarif global, habilité aide sociale, recours PUI",
);
pub(crate) const MFT_CPOM: Code = c("57", "DGS ARS & hébergement PCD - sous CPOM");
pub(crate) const MFT_UNKNOWN: Code = c("99", "Indéterminé");

pub(crate) const SPH_PUBLIC: Code = c("1", "Etablissement public de santé");
pub(crate) const SPH_NONE: Code = c("0", "Non concerné");

/// FINESS categories. Codes/labels/aggregates of the first block come from docs/formats.md §4.2; the
/// aggregates of 124, 603, 620 and the codes 106/183/202/214/246/354/365 are unverified stand-ins.
pub(crate) const FINESS_CATEGORIES: &[Category] = &[
    cat(
        "620",
        "Pharmacie d'Officine",
        c("3301", "Pharmacies d'Officine"),
        SiteKind::Pharmacy,
        120,
        &["4773Z"],
        &MFT_FREE,
        None,
        "PHARMACIE",
        "",
        &SECTOR_OFFICINE,
    ),
    cat(
        "500",
        "Etablissement d'hébergement pour personnes âgées dépendantes",
        c("4401", "Etablissements d'Hébergement pour Personnes Âgées"),
        SiteKind::MedicoSocial,
        75,
        &["8710A", "8710A", ""],
        &MFT_GLOBAL,
        None,
        "EHPAD",
        "EHPAD RESIDENCE",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "355",
        "Centre Hospitalier (C.H.)",
        c("1102", "Centres Hospitaliers"),
        SiteKind::Hospital,
        15,
        &["8610Z"],
        &MFT_PUBLIC,
        Some(&SPH_PUBLIC),
        "CH",
        "CENTRE HOSPITALIER DE",
        &SECTOR_PUBLIC_HOSPITAL,
    ),
    cat(
        "101",
        "Centre Hospitalier Régional (C.H.R.)",
        c("1101", "Centres Hospitaliers Régionaux"),
        SiteKind::Hospital,
        4,
        &["8610Z"],
        &MFT_PUBLIC,
        Some(&SPH_PUBLIC),
        "CHU",
        "CENTRE HOSPITALIER UNIVERSITAIRE DE",
        &SECTOR_PUBLIC_HOSPITAL,
    ),
    cat(
        "106",
        "Centre hospitalier, ex Hôpital local",
        c("1106", "Hôpitaux Locaux"),
        SiteKind::Hospital,
        3,
        &["8610Z"],
        &MFT_PUBLIC,
        Some(&SPH_PUBLIC),
        "CH",
        "CENTRE HOSPITALIER DE",
        &SECTOR_PUBLIC_HOSPITAL,
    ),
    cat(
        "365",
        "Etablissement de Soins Pluridisciplinaire",
        c("1110", "Etablissements de Soins Pluridisciplinaires"),
        SiteKind::Hospital,
        8,
        &["8610Z"],
        &MFT_PRIVATE,
        Some(&SPH_NONE),
        "CLINIQUE",
        "",
        &SECTOR_PRIVATE_HOSPITAL,
    ),
    cat(
        "124",
        "Centre de Santé",
        c("2203", "Centres de Santé"),
        SiteKind::Care,
        30,
        &["8621Z", "8690D"],
        &MFT_FREE,
        None,
        "CENTRE DE SANTE",
        "CENTRE DE SANTE POLYVALENT",
        &SECTOR_HEALTH_CENTRE,
    ),
    cat(
        "603",
        "Maison de santé (L.6223-3)",
        c("2204", "Maisons de Santé"),
        SiteKind::Care,
        25,
        &["8621Z", ""],
        &MFT_FREE,
        None,
        "MSP",
        "MAISON DE SANTE PLURIPROFESSIONNELLE",
        &SECTOR_HEALTH_CENTRE,
    ),
    cat(
        "146",
        "Structure d'Alternative à la dialyse en centre",
        c("1203", "Dialyse Ambulatoire"),
        SiteKind::Care,
        7,
        &["8610Z"],
        &MFT_PRIVATE,
        Some(&SPH_NONE),
        "UNITE D'AUTODIALYSE",
        "",
        &SECTOR_PRIVATE_HOSPITAL,
    ),
    cat(
        "354",
        "Service de Soins Infirmiers A Domicile (S.S.I.A.D)",
        c("4403", "Services de Soins à Domicile pour Personnes Âgées"),
        SiteKind::Care,
        22,
        &["8810A"],
        &MFT_GLOBAL,
        None,
        "SSIAD",
        "SERVICE DE SOINS INFIRMIERS A DOMICILE",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "699",
        "Entité Ayant Autorisation",
        c(
            "1205",
            "Autres Etablissements Relevant de la Loi Hospitalière",
        ),
        SiteKind::Care,
        8,
        &["8610Z", ""],
        &MFT_PRIVATE,
        None,
        "GCS",
        "GROUPEMENT DE COOPERATION SANITAIRE",
        &SECTOR_PRIVATE_HOSPITAL,
    ),
    cat(
        "189",
        "Centre Médico-Psycho-Pédagogique (C.M.P.P.)",
        c(
            "4106",
            "Services à Domicile ou Ambulatoires pour Handicapés",
        ),
        SiteKind::MedicoSocial,
        8,
        &["8891B"],
        &MFT_UNKNOWN,
        None,
        "CMPP",
        "CENTRE MEDICO-PSYCHO-PEDAGOGIQUE",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "183",
        "Institut Médico-Educatif (I.M.E.)",
        c(
            "4101",
            "Etablissements d'Education Spéciale pour Déficients",
        ),
        SiteKind::MedicoSocial,
        12,
        &["8710B"],
        &MFT_UNKNOWN,
        None,
        "IME",
        "INSTITUT MEDICO-EDUCATIF",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "462",
        "Lieux de Vie et d'Accueil",
        c("4605", "Etablissements et services multi-clientèles"),
        SiteKind::Social,
        7,
        &["8790B", ""],
        &MFT_DEPARTMENT,
        None,
        "LIEU DE VIE",
        "",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "223",
        "Protection Maternelle et Infantile (P.M.I.)",
        c(
            "2202",
            "Etablissements de PMI et de Planification Familiale",
        ),
        SiteKind::Social,
        40,
        &["", "8899B"],
        &MFT_DEPARTMENT,
        None,
        "PMI",
        "CENTRE DE PROTECTION MATERNELLE ET INFANTILE",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "202",
        "Résidences autonomie",
        c("4401", "Etablissements d'Hébergement pour Personnes Âgées"),
        SiteKind::Social,
        23,
        &["8730A"],
        &MFT_DEPARTMENT,
        None,
        "RESIDENCE AUTONOMIE",
        "",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "246",
        "Etablissement et Service d'Aide par le Travail (E.S.A.T.)",
        c("4104", "Etablissements et Services de Travail Protégé"),
        SiteKind::Social,
        15,
        &["8810C"],
        &MFT_UNKNOWN,
        None,
        "ESAT",
        "ETABLISSEMENT ET SERVICE D'AIDE PAR LE TRAVAIL",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "214",
        "Centre Hébergement & Réinsertion Sociale (C.H.R.S.)",
        c(
            "4301",
            "Etablissements pour Adultes et Familles en Difficulté",
        ),
        SiteKind::Social,
        9,
        &["8790B"],
        &MFT_UNKNOWN,
        None,
        "CHRS",
        "CENTRE D'HEBERGEMENT ET DE REINSERTION SOCIALE",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "241",
        "Etablissement de Placement",
        c(
            "4502",
            "Etab.et Services du Ministère de la Justice pour Mineurs",
        ),
        SiteKind::Social,
        10,
        &["8790A"],
        &MFT_UNKNOWN,
        None,
        "FOYER EDUCATIF",
        "",
        &SECTOR_MEDICO_SOCIAL,
    ),
    cat(
        "340",
        "Service mandataire judiciaire à la protection des majeurs",
        c("4608", "Protection des majeurs"),
        SiteKind::Social,
        5,
        &["8899B"],
        &MFT_CPOM,
        None,
        "SERVICE MJPM",
        "",
        &SECTOR_MEDICO_SOCIAL,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn cat(
    code: &'static str,
    label: &'static str,
    aggregate: Code,
    kind: SiteKind,
    weight: u32,
    ape: &'static [&'static str],
    mft: &'static Code,
    sph: Option<&'static Code>,
    short_prefix: &'static str,
    long_prefix: &'static str,
    sector: &'static Code,
) -> Category {
    Category {
        code,
        label,
        aggregate,
        kind,
        weight,
        ape,
        mft,
        sph,
        short_prefix,
        long_prefix,
        sector,
    }
}

/// Geolocation provenance strings for metropolitan Lambert 93 coordinates. `{q}` is replaced by a
/// quality score. They contain commas, never semicolons, so they are never quoted.
pub(crate) const LAMBERT_SOURCES: &[&str] = &[
    "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93",
    "1,ATLASANTE,{q},BAN,L93_METROPOLE",
];

/// Line 1 of the FINESS file: the manifest (not a header), before its extraction date.
pub(crate) const FINESS_MANIFEST: &str = "finess;etalab;99;";

// ---------------------------------------------------------------------------------------------
// Side files: savoir-faire, diplomas, MSSanté mailboxes
// ---------------------------------------------------------------------------------------------

/// The 13-column header of `PS_LibreAcces_SavoirFaire`, verbatim from docs/formats.md §5.2 (without the
/// trailing `|`, which the writer appends like on every row).
pub(crate) const SAVOIR_FAIRE_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire";

/// The 13-column header of `PS_LibreAcces_Dipl_AutExerc`, verbatim from docs/formats.md §5.3 (without the
/// trailing `|`).
pub(crate) const DIPLOMA_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code type diplôme obtenu|Libellé type diplôme obtenu|Code diplôme obtenu|Libellé diplôme obtenu|Code type autorisation|Libellé type autorisation|Code discipline autorisation|Libellé discipline autorisation";

/// The 31-column header of `Extraction_Correspondance_MSSante`, verbatim from docs/formats.md §5.1. This file
/// has NO trailing `|`, neither on the header nor on the rows.
pub(crate) const MSSANTE_HEADER: &str = "Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|Code Profession|Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|Raison Sociale structure BAL|Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION|L3COMPLEMENTDISTRIBUTION|L4NUMEROVOIE|L4COMPLEMENTNUMEROVOIE|NL4TYPEVOIE|L4LIBELLEVOIE|L5LIEUDITMENTION|L6LIGNEACHEMINEMENT|Code postal|Département|Pays";

/// Number of columns of [`MSSANTE_HEADER`].
pub(crate) const MSSANTE_COLUMNS: usize = 31;

/// Type diplôme `DE`: every person holds the state diploma of each of their professions.
pub(crate) const DIPLOMA_DE: Code = c("DE", "Diplôme d'Etat français");
/// Type diplôme `DES`: médecins with a specialty.
pub(crate) const DIPLOMA_DES: Code = c("DES", "Diplôme d'études spécialisées");
/// Type diplôme `CES`: the older specialty certificates of some médecins and dentists.
pub(crate) const DIPLOMA_CES: Code = c("CES", "Certificat d'études spéciales");
/// Type autorisation `AEX`: practitioners allowed to practise on a foreign diploma.
pub(crate) const AUTHORISATION_AEX: Code = c("AEX", "Autorisation d'exercice");

/// State diploma (`DEnn`) of each TRE_G15 profession (every code of [`PROFESSIONS`] has one). `DE09`
/// is the example of docs/formats.md §5.3; the other numbers are invented but distinct per profession.
pub(crate) const STATE_DIPLOMAS: &[(&str, Code)] = &[
    ("10", c("DE09", "DE Docteur en médecine")),
    ("40", c("DE10", "DE Docteur en chirurgie dentaire")),
    ("21", c("DE11", "DE Docteur en pharmacie")),
    ("50", c("DE12", "DE Sage-femme")),
    ("60", c("DE21", "DE Infirmier")),
    ("69", c("DE22", "DE Infirmier de secteur psychiatrique")),
    ("70", c("DE31", "DE Masseur-kinésithérapeute")),
    ("80", c("DE32", "DE Pédicure-podologue")),
    ("94", c("DE33", "DE Ergothérapeute")),
    ("95", c("DE34", "DE Diététicien")),
    ("96", c("DE35", "DE Psychomotricien")),
    (
        "98",
        c("DE36", "DE Manipulateur d'électroradiologie médicale"),
    ),
    ("91", c("DE41", "DE Orthophoniste")),
    ("92", c("DE42", "DE Orthoptiste")),
    ("28", c("DE51", "DE Opticien-lunetier")),
    ("26", c("DE52", "DE Audioprothésiste")),
    ("31", c("DE53", "DE Assistant dentaire")),
    ("86", c("DE54", "DE Technicien de laboratoire médical")),
    ("83", c("DE55", "DE Orthopédiste-orthésiste")),
    ("32", c("DE56", "DE Physicien médical")),
    ("81", c("DE57", "DE Orthoprothésiste")),
    ("82", c("DE58", "DE Podo-orthésiste")),
    ("84", c("DE59", "DE Oculariste")),
    ("85", c("DE60", "DE Epithésiste")),
];

/// DES (`DESnn`) of each médecin specialty savoir-faire of [`MEDECIN_SPECIALTIES`]: the three general
/// practice codes share the DES of general medicine. Numbers are invented.
pub(crate) const MEDECIN_DES: &[(&str, Code)] = &[
    ("SM54", c("DES27", "DES Médecine générale")),
    ("SM53", c("DES27", "DES Médecine générale")),
    ("SM26", c("DES27", "DES Médecine générale")),
    ("SM42", c("DES42", "DES Psychiatrie")),
    ("SM02", c("DES02", "DES Anesthésie-réanimation")),
    ("SM40", c("DES40", "DES Pédiatrie")),
    (
        "SM04",
        c("DES04", "DES Cardiologie et maladies vasculaires"),
    ),
    (
        "SM44",
        c("DES44", "DES Radiodiagnostic et imagerie médicale"),
    ),
    ("SM20", c("DES20", "DES Gynécologie-obstétrique")),
    ("SM38", c("DES38", "DES Ophtalmologie")),
    ("SM25", c("DES25", "DES Médecine du travail")),
    ("SM15", c("DES15", "DES Dermatologie et vénéréologie")),
    ("SM24", c("DES24", "DES Hépato-gastro-entérologie")),
    (
        "SM08",
        c("DES08", "DES Chirurgie orthopédique et traumatologique"),
    ),
    ("SM34", c("DES34", "DES Oto-rhino-laryngologie")),
    ("SM41", c("DES41", "DES Pneumologie")),
    ("SM32", c("DES32", "DES Neurologie")),
    ("SM14", c("DES14", "DES Chirurgie viscérale et digestive")),
    ("SM18", c("DES18", "DES Gériatrie")),
    ("SM27", c("DES28", "DES Médecine interne")),
    ("SM48", c("DES48", "DES Rhumatologie")),
    ("SM03", c("DES03", "DES Biologie médicale")),
    ("SM30", c("DES30", "DES Néphrologie")),
    (
        "SM16",
        c("DES16", "DES Endocrinologie, diabétologie, nutrition"),
    ),
    (
        "SM29",
        c("DES29", "DES Médecine physique et de réadaptation"),
    ),
    ("SM36", c("DES36", "DES Oncologie")),
    (
        "SM01",
        c("DES01", "DES Anatomie et cytologie pathologiques"),
    ),
    ("SM12", c("DES12", "DES Urologie")),
    ("SM49", c("DES49", "DES Santé publique")),
    ("SM21", c("DES21", "DES Hématologie")),
    ("SM47", c("DES47", "DES Médecine intensive-réanimation")),
    ("SM28", c("DES31", "DES Médecine nucléaire")),
];

/// CES (`CESnn`) of médecins (invented numbers; the certificates existed before the DES reform).
pub(crate) const MEDECIN_CES: &[Code] = &[
    c("CES01", "CES Médecine du travail"),
    c("CES02", "CES Médecine aéronautique"),
    c("CES03", "CES Biologie et médecine du sport"),
    c("CES04", "CES Médecine légale"),
    c("CES05", "CES Allergologie"),
    c("CES06", "CES Psychiatrie"),
];

/// CES (`CESnn`) of chirurgiens-dentistes.
pub(crate) const DENTISTE_CES: &[Code] = &[
    c("CES21", "CES Odontologie chirurgicale"),
    c("CES22", "CES Orthopédie dento-faciale"),
    c("CES23", "CES Parodontologie"),
];

/// Disciplines (`Dnn`) of médecins' exercise authorisations (invented numbers; `D10` as in docs/formats.md §5.3).
pub(crate) const MEDECIN_DISCIPLINES: &[Code] = &[
    c("D10", "Médecine générale"),
    c("D11", "Anesthésie-réanimation"),
    c("D12", "Cardiologie"),
    c("D13", "Pédiatrie"),
    c("D14", "Psychiatrie"),
    c("D15", "Radiodiagnostic"),
    c("D16", "Gynécologie-obstétrique"),
    c("D17", "Chirurgie générale"),
];

/// Discipline (`Dnn`) of the exercise authorisations of the other professions: `D` + the profession
/// code, which never clashes with the médecin disciplines `D10`–`D17`.
pub(crate) const PROFESSION_DISCIPLINES: &[(&str, &str)] = &[
    ("21", "Pharmacie"),
    ("40", "Chirurgie dentaire"),
    ("50", "Maïeutique"),
    ("60", "Soins infirmiers"),
    ("69", "Soins infirmiers en psychiatrie"),
    ("70", "Masso-kinésithérapie"),
    ("80", "Pédicurie-podologie"),
    ("91", "Orthophonie"),
    ("92", "Orthoptie"),
    ("94", "Ergothérapie"),
    ("95", "Diététique"),
    ("96", "Psychomotricité"),
    ("98", "Electroradiologie médicale"),
    ("28", "Optique-lunetterie"),
    ("26", "Audioprothèse"),
    ("31", "Assistance dentaire"),
    ("86", "Biologie médicale (technicien)"),
    ("83", "Orthopédie-orthèse"),
    ("32", "Physique médicale"),
    ("81", "Orthoprothèse"),
    ("82", "Podo-orthèse"),
    ("84", "Ocularisterie"),
    ("85", "Epithèse"),
];

/// MSSanté operator sub-domains of personal mailboxes, per profession (`pro` for the others):
/// addresses read `prenom.nom@<sub-domain>.mssante.fr`.
pub(crate) const MAILBOX_DOMAINS: &[(&str, &str)] = &[
    ("10", "medecin"),
    ("21", "pharmacien"),
    ("40", "dentiste"),
    ("50", "sagefemme"),
    ("60", "infirmier"),
    ("69", "infirmier"),
    ("70", "kine"),
    ("80", "podologue"),
];

/// The generic MSSanté sub-domain (professions without their own, and some persons of any profession).
pub(crate) const MAILBOX_DOMAIN_GENERIC: &str = "pro";

/// A `Service de rattachement` with the local part of its organisational mailbox.
#[derive(Debug)]
pub(crate) struct MailService {
    pub label: &'static str,
    pub local: &'static str,
}

const fn svc(label: &'static str, local: &'static str) -> MailService {
    MailService { label, local }
}

/// Services of hospitals' organisational mailboxes.
pub(crate) const HOSPITAL_SERVICES: &[MailService] = &[
    svc("Secrétariat", "secretariat"),
    svc("Service de cardiologie", "secretariat.cardiologie"),
    svc("Urgences", "urgences"),
    svc("Laboratoire", "laboratoire"),
    svc("Pharmacie à usage intérieur", "pui"),
    svc("Service d'imagerie médicale", "imagerie"),
    svc("Bureau des admissions", "admissions"),
    svc("Service de pédiatrie", "secretariat.pediatrie"),
    svc("Maternité", "maternite"),
];

/// Services of the other establishments' organisational mailboxes (health centres, EHPAD…).
pub(crate) const CARE_SERVICES: &[MailService] = &[
    svc("Secrétariat", "secretariat"),
    svc("Accueil", "accueil"),
    svc("Infirmerie", "infirmerie"),
    svc("Service médical", "medical"),
    svc("Direction des soins", "direction.soins"),
];

/// Services of officines' organisational mailboxes.
pub(crate) const OFFICINE_SERVICES: &[MailService] = &[
    svc("Officine", "officine"),
    svc("Préparatoire", "preparatoire"),
    svc("Secrétariat", "secretariat"),
];

/// Services of cabinets' organisational mailboxes.
pub(crate) const CABINET_SERVICES: &[MailService] = &[
    svc("Secrétariat", "secretariat"),
    svc("Accueil", "accueil"),
    svc("Cabinet", "cabinet"),
];
