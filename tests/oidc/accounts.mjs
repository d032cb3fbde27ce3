// The provider's accounts, shaped as Pro Santé Connect's userinfo (next-capabilities §3.2 of the
// team's notes; PSC sandbox examples), drawn from the generated extractions that annuaire serves:
//
//   node accounts.mjs RPPS_FILE MSSANTE_FILE ACCOUNTS.json EXPECTED.json
//
// Accounts (login name = account id):
//   medecin   a médecin (profession 10) of the RPPS file who has a personal MSSanté mailbox; PSC
//             lists their practices and one more the directory does not have (a difference)
//   kine      a masseur-kinésithérapeute (70) with a personal mailbox; practices as in the file
//   inconnu   a professional the directory does not know (a national id absent from the file)
// EXPECTED.json: for each account, what the directory's files say (national id, RPPS, the
// structures of their practices, their mailboxes), the tests' oracle.
import { readFileSync, writeFileSync } from 'node:fs';

const [rppsFile, mssanteFile, accountsFile, expectedFile] = process.argv.slice(2);

function table(file) {
  const [header, ...lines] = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l !== '');
  const names = header.split('|').map((h) => h.trim());
  return lines.map((line) => {
    const cells = line.split('|');
    return Object.fromEntries(names.map((n, i) => [n, (cells[i] ?? '').trim()]));
  });
}

const rpps = table(rppsFile);
const mailboxes = table(mssanteFile).filter((m) => m['Type de BAL'] === 'PER' && m['Identification nationale PP']);
const mailboxesOf = (idnat) => mailboxes.filter((m) => m['Identification nationale PP'] === idnat).map((m) => m['Adresse BAL']);
const rowsOf = (idnat) => rpps.filter((r) => r['Identification nationale PP'] === idnat);

/// The first person of a profession with a personal mailbox and a practice in a structure.
function pick(profession) {
  const seen = new Set();
  for (const row of rpps) {
    const idnat = row['Identification nationale PP'];
    if (seen.has(idnat) || row['Code profession'] !== profession) continue;
    seen.add(idnat);
    if (!/^8\d{11}$/.test(idnat)) continue;
    const rows = rowsOf(idnat);
    if (mailboxesOf(idnat).length > 0 && rows.some((r) => r['Identifiant technique de la structure'])) return rows;
  }
  throw new Error(`no professional of profession ${profession} with a mailbox in ${rppsFile}`);
}

/// One `activities[]` item of SubjectRefPro, from one practice row of the RPPS extraction (PSC's
/// fields are the extraction's columns).
function activity(row) {
  return {
    codeModeExercice: row['Code mode exercice'],
    codeSecteurDactivite: row["Code secteur d'activité"],
    codeSectionPharmacien: row['Code section tableau pharmaciens'],
    codeRole: row['Code rôle'],
    codeGenreActivite: row['Code genre activité'],
    numeroSiretSite: row['Numéro SIRET site'],
    numeroSirenSite: row['Numéro SIREN site'],
    numeroFinessSite: row['Numéro FINESS site'],
    numeroFinessetablissementJuridique: row['Numéro FINESS établissement juridique'],
    identifiantTechniqueDeLaStructure: row['Identifiant technique de la structure'],
    raisonSocialeSite: row['Raison sociale site'],
    enseigneCommercialeSite: row['Enseigne commerciale site'],
    numeroVoie: row['Numéro Voie (coord. structure)'],
    codeTypeDeVoie: row['Code type de voie (coord. structure)'],
    libelleVoie: row['Libellé Voie (coord. structure)'],
    bureauCedex: row['Bureau cedex (coord. structure)'],
    codePostal: row['Code postal (coord. structure)'],
    codeCommune: row['Code commune (coord. structure)'],
    codePays: row['Code pays (coord. structure)'] || '99000',
    telephone: row['Téléphone (coord. structure)'],
    adresseEMail: row['Adresse e-mail (coord. structure)'],
    codeDepartement: row['Code Département (structure)'],
    ancienIdentifiantDeLaStructure: row['Ancien identifiant de la structure'],
    autoriteDenregistrement: row["Autorité d'enregistrement"],
  };
}

/// PSC's claims for a person of the RPPS file; `extra` activities are practices PSC lists that
/// the directory does not have.
function pscClaims(rows, extra = []) {
  const first = rows[0];
  const idnat = first['Identification nationale PP'];
  const practices = rows.filter((r) => r['Identifiant technique de la structure']);
  return {
    SubjectNameID: idnat,
    preferred_username: idnat,
    given_name: first["Prénom d'exercice"],
    family_name: first["Nom d'exercice"],
    codeCivilite: first['Code civilité'] || first["Code civilité d'exercice"] || 'M',
    SubjectRole: [`${first['Code profession']}^1.2.250.1.213.1.1.5.5`],
    Secteur_Activite: `${practices[0]["Code secteur d'activité"]}^1.2.250.1.71.4.2.4`,
    SubjectOrganization: practices[0]['Raison sociale site'],
    SubjectOrganizationID: practices[0]['Identifiant technique de la structure'],
    SubjectRefPro: {
      codeCivilite: first['Code civilité'],
      exercices: [{
        codeProfession: first['Code profession'],
        codeCategorieProfessionnelle: first['Code catégorie professionnelle'],
        codeCiviliteDexercice: first["Code civilité d'exercice"],
        nomDexercice: first["Nom d'exercice"],
        prenomDexercice: first["Prénom d'exercice"],
        codeTypeSavoirFaire: first['Code type savoir-faire'],
        codeSavoirFaire: first['Code savoir-faire'],
        activities: [...practices.map(activity), ...extra],
      }],
    },
    email_verified: false,
  };
}

function expected(rows) {
  const idnat = rows[0]['Identification nationale PP'];
  return {
    nationalId: idnat,
    rpps: rows[0]['Identifiant PP'],
    profession: rows[0]['Code profession'],
    familyName: rows[0]["Nom d'exercice"],
    structures: [...new Set(rows.map((r) => r['Identifiant technique de la structure']).filter(Boolean))],
    mailboxes: [...new Set(mailboxesOf(idnat))],
  };
}

const medecin = pick('10');
const kine = pick('70');
const elsewhere = {
  ...activity(medecin[0]),
  identifiantTechniqueDeLaStructure: 'R10999999',
  numeroSiretSite: '99999999999999',
  numeroSirenSite: '999999999',
  numeroFinessSite: '',
  numeroFinessetablissementJuridique: '',
  raisonSocialeSite: 'CABINET QUE L’ANNUAIRE NE CONNAÎT PAS',
  enseigneCommercialeSite: '',
};
const known = new Set(rpps.map((r) => r['Identification nationale PP']));
let unknownId = 899999999990;
while (known.has(String(unknownId))) unknownId -= 1;
const unknown = String(unknownId);

const accounts = {
  medecin: pscClaims(medecin, [elsewhere]),
  kine: pscClaims(kine),
  inconnu: {
    SubjectNameID: unknown,
    preferred_username: unknown,
    given_name: 'CAMILLE',
    family_name: 'INCONNUE',
    codeCivilite: 'MME',
    SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
    SubjectRefPro: { exercices: [{ codeProfession: '10', nomDexercice: 'INCONNUE', prenomDexercice: 'CAMILLE', activities: [elsewhere] }] },
    email_verified: false,
  },
};
writeFileSync(accountsFile, JSON.stringify(accounts, null, 2));
writeFileSync(expectedFile, JSON.stringify({
  medecin: { ...expected(medecin), onlyInPsc: [elsewhere.identifiantTechniqueDeLaStructure] },
  kine: expected(kine),
  inconnu: { nationalId: unknown, rpps: unknown.slice(1), structures: [], mailboxes: [] },
}, null, 2));
