// Signing keys for the provider: `node keys.mjs FILE KID [ALG]` writes a new private JWK (RS256
// by default, as Pro Santé Connect signs) to FILE. The tests compose the provider's key file
// from these (rotation: [new, old], then [new]).
import { writeFileSync } from 'node:fs';
import { generateKeyPair, exportJWK } from 'jose';

const [file, kid, alg = 'RS256'] = process.argv.slice(2);
const { privateKey } = await generateKeyPair(alg, { extractable: true });
writeFileSync(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg, use: 'sig' }));
