//! Code tables of the four other FINESS extractions (legal entities, heavy equipment, social
//! equipment, healthcare activities).
//!
//! Only a few code/label pairs come from a source at hand (the FINESS documentation's example lines and legal categories, as quoted in `docs/formats.md`): they
//! are marked **seen**. Every other code is a synthetic stand-in with a plausible label, marked so,
//! because the NOS tables (TRE_R72, R272, R274–R276, R209 and the legacy discipline and clientele
//! lists) are not in the repository. The importer keeps codes as strings and labels as given, so
//! a wrong stand-in changes no behaviour; it would only show an unlikely label.

use super::tables::Code;

const fn c(code: &'static str, label: &'static str) -> Code {
    Code { code, label }
}

// ---------------------------------------------------------------------------------------------
// Legal entities (`structureej`)
// ---------------------------------------------------------------------------------------------

/// Statut juridique (TRE_R72-FinessStatutJuridique) of public hospitals. `13` and its label are
/// seen (the FINESS documentation's example line); `14` and `15` are from memory, to verify against TRE_R72.
pub(crate) const PUBLIC_HOSPITAL_STATUSES: &[(Code, u32)] = &[
    (
        c("13", "Etablissement Public Communal d'Hospitalisation"),
        60,
    ),
    (
        c("14", "Etablissement Public Intercommunal d'Hospitalisation"),
        25,
    ),
    (
        c("15", "Etablissement Public Départemental d'Hospitalisation"),
        15,
    ),
];

/// Statuts juridiques of associations (`60`/`61`, from memory, to verify against TRE_R72).
pub(crate) const ASSOCIATION_STATUSES: &[(Code, u32)] = &[
    (
        c("60", "Association Loi 1901 non Reconnue d'Utilité Publique"),
        80,
    ),
    (
        c("61", "Association Loi 1901 Reconnue d'Utilité Publique"),
        20,
    ),
];

/// Statuts juridiques of companies: `73` is seen (finess.md §7); `72` and `95` from memory.
pub(crate) const COMPANY_STATUSES: &[(Code, u32)] = &[
    (c("72", "Société A Responsabilité Limitée (S.A.R.L.)"), 35),
    (c("73", "Société Anonyme (S.A.)"), 25),
    (c("95", "Société par Actions Simplifiée (S.A.S.)"), 40),
];

// ---------------------------------------------------------------------------------------------
// Heavy equipment (`equipmateriellourd`, TRE_R272)
// ---------------------------------------------------------------------------------------------

/// Scanner: code seen (the FINESS documentation's example line), label from memory.
pub(crate) const SCANNER: Code = c("05602", "Scanographe à utilisation médicale");
/// MRI: code seen (the FINESS documentation's example line), label from memory.
pub(crate) const MRI: Code = c("05701", "Appareil d'IRM à utilisation clinique");

/// Heavy equipment kinds with their share of the fleet, in percent: scanners and MRI seen, the
/// others synthetic stand-ins for nuclear medicine and the rarer units.
pub(crate) const HEAVY_EQUIPMENT: &[(Code, u32)] = &[
    (SCANNER, 45),
    (MRI, 38),
    (
        c(
            "06201",
            "Caméra à scintillation sans détecteur d'émission de positons",
        ),
        12,
    ),
    (c("06101", "Tomographe à émissions de positons"), 4),
    (c("05801", "Caisson hyperbare"), 1),
];

/// ARHGOS region prefixes of authorisation numbers (`84-82-48769` style, seen): regional codes.
pub(crate) const ARHGOS_REGIONS: &[&str] = &[
    "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94",
];

// ---------------------------------------------------------------------------------------------
// Healthcare activities (`activiteoffresoin`, TRE_R274 / R275 / R276)
// ---------------------------------------------------------------------------------------------

/// One authorisable (activité, modalité, forme) triple.
#[derive(Debug)]
pub(crate) struct CareTriple {
    pub activity: Code,
    pub modality: Code,
    pub form: Code,
}

const fn triple(activity: Code, modality: Code, form: Code) -> CareTriple {
    CareTriple {
        activity,
        modality,
        form,
    }
}

// The activity names follow the regulated activities of the public-health code; their codes, and
// every modality and form code except `07`, are synthetic stand-ins.
const MEDECINE: Code = c("01", "Médecine");
const CHIRURGIE: Code = c("02", "Chirurgie");
const OBSTETRIQUE: Code = c(
    "03",
    "Gynécologie-obstétrique, néonatologie, réanimation néonatale",
);
const PSYCHIATRIE: Code = c("04", "Psychiatrie");
const SSR: Code = c("05", "Soins médicaux et de réadaptation");
const SLD: Code = c("06", "Soins de longue durée");
const URGENCES: Code = c("07", "Médecine d'urgence");
const REANIMATION: Code = c("08", "Soins critiques");
const CANCER: Code = c("09", "Traitement du cancer");
const DIALYSE: Code = c(
    "10",
    "Traitement de l'insuffisance rénale chronique par épuration extrarénale",
);
const NO_MODALITY: Code = c("00", "Pas de modalité");
const NO_FORM: Code = c("00", "Pas de forme");
const FULL_STAY: Code = c(
    "01",
    "Hospitalisation complète (24 heures consécutives ou plus)",
);
const DAY_STAY: Code = c("02", "Hospitalisation à temps partiel de jour ou de nuit");
const HOME_STAY: Code = c("05", "Hospitalisation à domicile");
/// Form `07`, ambulatory surgery: code seen (the FINESS documentation's example line).
const AMBULATORY_SURGERY: Code = c("07", "Chirurgie ambulatoire");

/// The emergency unit: every CHR of the roster has one, a share of the other hospitals too.
pub(crate) const EMERGENCY: CareTriple =
    triple(URGENCES, c("15", "Structure des urgences"), NO_FORM);

/// The other triples, drawn without replacement for each hospital.
pub(crate) const CARE_TRIPLES: &[CareTriple] = &[
    triple(MEDECINE, NO_MODALITY, FULL_STAY),
    triple(MEDECINE, NO_MODALITY, DAY_STAY),
    triple(MEDECINE, NO_MODALITY, HOME_STAY),
    triple(CHIRURGIE, NO_MODALITY, FULL_STAY),
    triple(CHIRURGIE, NO_MODALITY, AMBULATORY_SURGERY),
    triple(OBSTETRIQUE, c("09", "Obstétrique"), FULL_STAY),
    triple(
        OBSTETRIQUE,
        c("10", "Néonatologie sans soins intensifs"),
        FULL_STAY,
    ),
    triple(PSYCHIATRIE, c("11", "Psychiatrie générale"), FULL_STAY),
    triple(
        PSYCHIATRIE,
        c("12", "Psychiatrie infanto-juvénile"),
        DAY_STAY,
    ),
    triple(SSR, c("13", "Adultes"), FULL_STAY),
    triple(SSR, c("14", "Enfants et adolescents"), DAY_STAY),
    triple(SLD, NO_MODALITY, FULL_STAY),
    triple(URGENCES, c("16", "SMUR"), NO_FORM),
    triple(REANIMATION, c("17", "Adultes"), FULL_STAY),
    triple(CANCER, c("18", "Chirurgie oncologique"), FULL_STAY),
    triple(
        CANCER,
        c("19", "Traitements médicamenteux systémiques du cancer"),
        DAY_STAY,
    ),
    triple(
        DIALYSE,
        c("21", "Hémodialyse en centre pour adultes"),
        NO_FORM,
    ),
];

// ---------------------------------------------------------------------------------------------
// Social and medico-social equipment (`equipementsocial`)
// ---------------------------------------------------------------------------------------------

/// One (discipline, type d'activité, clientèle) equipment an ESSMS category offers, with its usual
/// installed capacity and age range.
#[derive(Debug)]
pub(crate) struct SocialOffer {
    /// Discipline d'équipement (legacy FINESS code).
    pub discipline: Code,
    /// Type d'activité (TRE_R209).
    pub activity: Code,
    /// Clientèle (legacy FINESS code).
    pub clientele: Code,
    pub capacity: (u32, u32),
    pub ages: (u32, u32),
}

const fn offer(
    discipline: Code,
    activity: Code,
    clientele: Code,
    capacity: (u32, u32),
    ages: (u32, u32),
) -> SocialOffer {
    SocialOffer {
        discipline,
        activity,
        clientele,
        capacity,
        ages,
    }
}

/// Discipline `924`: code seen (the FINESS documentation's example line), label from memory.
const ELDERLY_CARE: Code = c("924", "Accueil pour Personnes Âgées");
const TEMPORARY_ELDERLY: Code = c("657", "Accueil temporaire pour Personnes Âgées");
/// Type d'activité `11` (hébergement complet) and `21` (accueil de jour): codes seen.
const FULL_BOARD: Code = c("11", "Hébergement Complet Internat");
const DAY_CARE: Code = c("21", "Accueil de Jour");
const HALF_BOARD: Code = c("13", "Semi-Internat");
const DAY_SCHOOL: Code = c("14", "Externat");
const OUTREACH: Code = c("16", "Prestation en milieu ordinaire");
/// Clientèle `436`: code seen (the FINESS documentation's example line), label from memory.
const ALZHEIMER: Code = c("436", "Personnes Alzheimer ou maladies apparentées");
const DEPENDENT_ELDERLY: Code = c("711", "Personnes Âgées dépendantes");
const AUTONOMOUS_ELDERLY: Code = c("701", "Personnes Âgées autonomes");
const INTELLECTUAL: Code = c("110", "Déficience Intellectuelle (sans autre indication)");
const ALL_DISABILITIES: Code = c(
    "010",
    "Tous Types de Déficiences Pers.Handicap.(sans autre indic.)",
);
const IN_DIFFICULTY: Code = c("820", "Personnes et Familles en Difficulté Sociale");

/// The offers of each ESSMS category (codes of `FINESS_CATEGORIES`), first offer always present;
/// categories absent here have no social equipment line. Codes other than those marked seen above
/// are synthetic stand-ins.
pub(crate) const SOCIAL_OFFERS: &[(&str, &[SocialOffer])] = &[
    (
        "500",
        &[
            offer(
                ELDERLY_CARE,
                FULL_BOARD,
                DEPENDENT_ELDERLY,
                (40, 120),
                (60, 130),
            ),
            offer(ELDERLY_CARE, FULL_BOARD, ALZHEIMER, (10, 30), (60, 130)),
            offer(ELDERLY_CARE, DAY_CARE, ALZHEIMER, (5, 15), (60, 130)),
            offer(
                TEMPORARY_ELDERLY,
                FULL_BOARD,
                DEPENDENT_ELDERLY,
                (2, 10),
                (60, 130),
            ),
            offer(
                c("961", "Pôles d'activité et de soins adaptés"),
                DAY_CARE,
                ALZHEIMER,
                (12, 14),
                (60, 130),
            ),
        ],
    ),
    (
        "202",
        &[
            offer(
                ELDERLY_CARE,
                FULL_BOARD,
                AUTONOMOUS_ELDERLY,
                (20, 80),
                (60, 130),
            ),
            offer(
                TEMPORARY_ELDERLY,
                FULL_BOARD,
                AUTONOMOUS_ELDERLY,
                (1, 5),
                (60, 130),
            ),
        ],
    ),
    (
        "183",
        &[
            offer(
                c(
                    "901",
                    "Education Générale et Soins Spécialisés Enfants Handicapés",
                ),
                HALF_BOARD,
                INTELLECTUAL,
                (20, 80),
                (3, 20),
            ),
            offer(
                c(
                    "901",
                    "Education Générale et Soins Spécialisés Enfants Handicapés",
                ),
                FULL_BOARD,
                INTELLECTUAL,
                (5, 30),
                (6, 20),
            ),
            offer(
                c(
                    "901",
                    "Education Générale et Soins Spécialisés Enfants Handicapés",
                ),
                DAY_SCHOOL,
                ALL_DISABILITIES,
                (5, 20),
                (3, 20),
            ),
        ],
    ),
    (
        "189",
        &[offer(
            c("320", "Consultations Médico-Psycho-Pédagogiques"),
            OUTREACH,
            ALL_DISABILITIES,
            (50, 300),
            (0, 20),
        )],
    ),
    (
        "462",
        &[offer(
            c("444", "Lieu de vie et d'accueil"),
            FULL_BOARD,
            ALL_DISABILITIES,
            (3, 7),
            (6, 21),
        )],
    ),
    (
        "246",
        &[
            offer(
                c("908", "Aide par le Travail pour Adultes Handicapés"),
                DAY_SCHOOL,
                ALL_DISABILITIES,
                (20, 120),
                (20, 60),
            ),
            offer(
                c("908", "Aide par le Travail pour Adultes Handicapés"),
                DAY_SCHOOL,
                INTELLECTUAL,
                (10, 60),
                (20, 60),
            ),
        ],
    ),
    (
        "214",
        &[
            offer(
                c(
                    "443",
                    "Hébergement d'Insertion Adultes, Familles en Difficulté",
                ),
                FULL_BOARD,
                IN_DIFFICULTY,
                (15, 80),
                (18, 130),
            ),
            offer(
                c("957", "Hébergement d'urgence"),
                FULL_BOARD,
                IN_DIFFICULTY,
                (5, 30),
                (18, 130),
            ),
            offer(
                c("445", "Accompagnement social hors hébergement"),
                OUTREACH,
                IN_DIFFICULTY,
                (10, 60),
                (18, 130),
            ),
        ],
    ),
    (
        "241",
        &[offer(
            c("178", "Hébergement éducatif"),
            FULL_BOARD,
            c("846", "Mineurs confiés par le juge"),
            (8, 40),
            (6, 18),
        )],
    ),
    (
        "340",
        &[offer(
            c("341", "Mesures de protection des majeurs"),
            OUTREACH,
            c("838", "Majeurs protégés"),
            (100, 900),
            (18, 130),
        )],
    ),
];

/// Source of the information of a social equipment line (synthetic values).
pub(crate) const SOCIAL_SOURCES: &[&str] = &["S", "S", "S", "A"];
